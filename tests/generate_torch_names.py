"""Write ``microgradnp/torch_names.json``: the public names of PyTorch's namespaces, from its ``dir()``.

    python tests/generate_torch_names.py            # (--print: write the JSON to stdout instead)

microgradnp reads the file (never torch) to say, for a missing attribute that PyTorch has, that it has
no counterpart yet. ``tests/test_torch_names.py`` checks the shipped file against the installed torch.
"""
import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "microgradnp" / "torch_names.json"
NAMESPACES = ("torch", "torch.Tensor", "torch.nn", "torch.nn.functional", "torch.nn.utils", "torch.optim")


def public_names(obj):
    """The names in ``dir(obj)`` that do not start with an underscore, sorted."""
    return sorted(name for name in dir(obj) if not name.startswith("_"))


def collect():
    """{namespace: its public names} for each of NAMESPACES, from the installed torch.

    Run it in a fresh process: importing more of torch adds its submodules to ``dir(torch)``.
    """
    import importlib

    import torch

    namespaces = {}
    for qualname in NAMESPACES:
        obj = torch.Tensor if qualname == "torch.Tensor" else importlib.import_module(qualname)
        namespaces[qualname] = public_names(obj)
    return {"torch_version": torch.__version__.split("+")[0], "names": namespaces}


if __name__ == "__main__":
    text = json.dumps(collect(), indent=0, sort_keys=True) + "\n"
    if sys.argv[1:] == ["--print"]:
        sys.stdout.write(text)
    else:
        OUT.write_text(text)
        print(f"wrote {OUT}")
