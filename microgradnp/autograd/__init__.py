"""Autograd: the backward engine and the tools around it.

``backward`` and ``grad`` run the engine; ``Function`` defines custom ops; ``gradcheck`` compares a
function's gradients with finite differences; ``check_derivative`` checks a hand-written NumPy
derivative; ``detect_anomaly`` finds where a NaN entered backward; ``graph`` exposes the recorded graph.
"""
from . import graph
from .anomaly import detect_anomaly
from .check_derivative import DerivativeMismatch, check_derivative
from .custom_function import Function, FunctionCtx
from .engine import backward, grad
from .gradcheck import GradcheckError, NondifferentiablePointWarning, gradcheck

__all__ = ["backward", "grad", "Function", "FunctionCtx", "gradcheck", "GradcheckError",
           "NondifferentiablePointWarning", "detect_anomaly", "check_derivative", "DerivativeMismatch", "graph"]
