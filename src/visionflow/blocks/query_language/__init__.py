"""The Universal Query Language (UQL) of Workflows v1: operations and statements.

Used by ``continue_if``, ``detections_filter``, ``detections_transformation``,
``property_definition`` and ``expression``. Build once, apply many times:

>>> chain = build_operations_chain([{"type": "SequenceLength"}])
>>> chain([1, 2, 3], {})
3
>>> is_big = build_eval_function({
...     "type": "StatementGroup",
...     "operator": "and",
...     "statements": [{
...         "type": "BinaryStatement",
...         "left_operand": {"type": "DynamicOperand", "operand_name": "n"},
...         "comparator": {"type": "(Number) >"},
...         "right_operand": {"type": "StaticOperand", "value": 2},
...     }],
... })
>>> is_big({"n": 3})
True
"""

from __future__ import annotations

from visionflow.blocks.query_language.describe import describe_query_language
from visionflow.blocks.query_language.entities import (
    DEFAULT_OPERAND_NAME,
    AllOperationsType,
    BaseOperation,
    OperationDefinition,
    OperationsChain,
)
from visionflow.blocks.query_language.errors import (
    EvaluationEngineError,
    InvalidInputTypeError,
    OperationError,
    OperationTypeNotRecognisedError,
    QueryLanguageError,
    UndeclaredSymbolError,
)
from visionflow.blocks.query_language.evaluation import build_eval_function, evaluate
from visionflow.blocks.query_language.operations import (
    build_operations_chain,
    execute_operations,
)
from visionflow.blocks.query_language.statements import (
    BinaryStatement,
    DynamicOperand,
    StatementGroup,
    StaticOperand,
    UnaryStatement,
)

__all__ = [
    "DEFAULT_OPERAND_NAME",
    "AllOperationsType",
    "BaseOperation",
    "BinaryStatement",
    "DynamicOperand",
    "EvaluationEngineError",
    "InvalidInputTypeError",
    "OperationDefinition",
    "OperationError",
    "OperationTypeNotRecognisedError",
    "OperationsChain",
    "QueryLanguageError",
    "StatementGroup",
    "StaticOperand",
    "UnaryStatement",
    "UndeclaredSymbolError",
    "build_eval_function",
    "build_operations_chain",
    "describe_query_language",
    "evaluate",
    "execute_operations",
]
