"""What a compiled step's replay returns: the structure the step returned, rebuilt by the replay's last
lines (``_Results``)."""
import collections

from .capture_tape import CompileError, _describe, _plain_tensor
from .tensor import Tensor

_CONSTANT_TYPES = (type(None), bool, int, float, complex, str, bytes)


class _Results:
    """How a replay returns what the step returned: the same structure (tuples, lists, dicts and
    namedtuples, nested), built by the replay's last lines.

    Each Tensor the step computed comes back as a fresh graph-free Tensor around the replay's array
    (``_plain_tensor``); a parameter, buffer or other state Tensor as the same object, and its ``.grad``
    as read at the end of the replay; an input as the Tensor that call was given; plain Python values (None,
    numbers, strings) as captured. A value computed outside the recorded ops or an array is refused: a
    replay could not return it as eager would.
    """

    def __init__(self, tape, args, result):
        self.tape = tape
        self.inputs = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
        state = tape.state_tensors()
        self.state = {id(t): t for t in state}
        self.state_arrays = {id(t._array): t for t in state}
        self.grad_owners = {id(t._grad): t for t in state if t._grad is not None}
        self.lines = []       # code before the return: one local per Tensor returned
        self.reads = set()    # the names those lines read (kept alive in the replay)
        self.escaping = set()  # slot names and array ids the result holds: no buffer may be reused for them
        self.made = {}        # id(Tensor) -> the local that holds its replay counterpart
        self.expression = self.build(result, "result")

    def build(self, value, path):
        """The replay's expression for ``value``, found at ``path`` in what the step returned."""
        if isinstance(value, Tensor):
            return self.tensor(value, path)
        if type(value) in _CONSTANT_TYPES:
            return self.tape.ref(value)
        if isinstance(value, tuple):
            items = [self.build(v, f"{path}[{i}]") for i, v in enumerate(value)]
            if type(value) is tuple:
                return f"({', '.join(items)},)" if items else "()"
            if hasattr(type(value), "_fields"):  # a namedtuple
                return f"{self.tape.const(type(value))}({', '.join(items)})"
            return f"{self.tape.const(type(value))}(({', '.join(items)},))"
        if type(value) is list:
            return f"[{', '.join(self.build(v, f'{path}[{i}]') for i, v in enumerate(value))}]"
        if type(value) in (dict, collections.OrderedDict):
            for key in value:
                if type(key) not in _CONSTANT_TYPES:
                    self.refuse(path, f"a dict with a {type(key).__name__} key", "use keys that are strings or numbers")
            items = ", ".join(f"{self.tape.ref(k)}: {self.build(v, f'{path}[{k!r}]')}" for k, v in value.items())
            return "{" + items + "}" if type(value) is dict else f"{self.tape.const(type(value))}({{{items}}})"
        self.refuse(path, f"a {type(value).__name__}",
                    "return Tensors the step computed, plain Python values (None, numbers, strings) and tuples, "
                    "lists or dicts of those")

    def tensor(self, t, path):
        """The replay's local for the Tensor ``t`` (one local per Tensor object: eager's ``(a, a)`` stays
        one object twice)."""
        local = self.made.get(id(t))
        if local is None:
            local = self.made[id(t)] = f"r{len(self.made)}"
            self.lines.append(f"{local} = {self.tensor_expression(t, path)}")
        return local

    def tensor_expression(self, t, path):
        tape, data = self.tape, t._array
        if id(t) in self.inputs:  # eager returns the object it was given: so does a replay, that call's
            return f"inputs[{self.inputs[id(t)]}]"
        if id(t) in self.state:  # a parameter or buffer: eager returns the object, updated in place
            return tape.const(t)
        if id(t) in self.grad_owners:  # a parameter's .grad: the object the replay's backward left there
            return f"{tape.tensor_name(self.grad_owners[id(t)])}._grad"
        name = tape.slot_of.get(id(data))
        if name is None and id(data) in self.state_arrays:  # p.detach(): the parameter's array (read again)
            name = tape.ref(data)
        elif name is None:
            how = ("computed outside the recorded ops (a comparison, argmax, any/all)" if id(data) in tape.untracked
                   else "that the step did not compute")
            self.refuse(path, f"a Tensor {how} ({_describe(data)})",
                        "a replay would return the captured values; return it from outside the compiled function")
        self.reads.add(name)
        self.escaping.update((name, id(data)))
        if data.base is not None:  # a view: what it views escapes too (a buffer under it would be rewritten)
            self.escaping.update((id(data.base), tape.slot_of.get(id(data.base))))
        return f"{tape.const(_plain_tensor)}({name})"

    @staticmethod
    def refuse(path, what, advice):
        raise CompileError(f"mg.compile: the step returned {what} at {path}; {advice}. A compiled step returns "
                           f"Tensors it computed, parameters, their .grad and plain Python values.")
