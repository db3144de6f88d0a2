"""The per-topic fence from the catalog: what a topic forbids, and only that.

Phases 1-5 are from scratch (torch refused at import); a topic that lets the learner use
torch tensors and autograd still refuses the callables that would do its job, under any
name they are bound to in the package, with a message that says what to do instead.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.sandbox.client import LearnerError, Sandbox, SandboxConfig
from nnfs_cli.sandbox.source import Submission

CATALOG = load_catalog()
TORCH_TOPIC = CATALOG.get("transformer")

SUBMISSION = """
import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.functional import scaled_dot_product_attention as sdpa

def autograd_works(x):
    t = torch.as_tensor(x).requires_grad_()
    (t @ t.T).tanh().sum().backward()
    return t.grad

def functional(x):
    t = torch.as_tensor(x)[None]
    return F.scaled_dot_product_attention(t, t, t)[0]

def imported_alias(x):
    t = torch.as_tensor(x)[None]
    return sdpa(t, t, t)[0]

def module_class(x):
    return torch.nn.LayerNorm(x.shape[-1])(torch.as_tensor(x)).detach()

def deep_alias(x):
    from torch.nn.modules.activation import MultiheadAttention
    return MultiheadAttention(4, 1)

def wildcard(x):
    return torch.nn.TransformerEncoderLayer(4, 1)

def other_library(x):
    import tensorflow
"""


@pytest.fixture(scope="module")
def torch_worker(tmp_path_factory):
    path = tmp_path_factory.mktemp("fence") / "sub.py"
    sb = Sandbox(
        Submission(path, SUBMISSION),
        "sub",
        SandboxConfig(
            forbidden_imports=TORCH_TOPIC.forbid_imports,
            forbidden_calls=TORCH_TOPIC.forbid_calls,
            call_timeout=60,  # the first call pays torch's thread-pool start on a busy machine
        ),
    )
    sb.start()
    yield sb
    sb.close()


def test_tensors_and_autograd_work_and_come_back_as_arrays(torch_worker):
    x = np.arange(6.0).reshape(2, 3) / 6
    grad = torch_worker.call("autograd_works", (x,))
    assert isinstance(grad, np.ndarray) and grad.shape == (2, 3)


@pytest.mark.parametrize(
    "function, name",
    [
        ("functional", "torch.nn.functional.scaled_dot_product_attention"),
        ("imported_alias", "torch.nn.functional.scaled_dot_product_attention"),
        ("module_class", "torch.nn.LayerNorm"),
        ("deep_alias", "torch.nn.MultiheadAttention"),
        ("wildcard", "torch.nn.TransformerEncoderLayer"),
    ],
)
def test_the_modules_that_do_the_job_refuse_with_their_name(torch_worker, function, name):
    with pytest.raises(LearnerError) as e:
        torch_worker.call(function, (np.ones((3, 4)),))
    assert e.value.forbidden and name in str(e.value) and "autograd" in str(e.value)


def test_a_library_the_topic_forbids_is_refused_at_import(torch_worker):
    with pytest.raises(LearnerError) as e:
        torch_worker.call("other_library", (np.ones(2),))
    assert e.value.forbidden and "'tensorflow' is not allowed" in str(e.value)


def test_every_forbidden_call_names_something_that_exists():
    """A typo in the catalog would silently forbid nothing."""
    import fnmatch
    import importlib

    for topic in CATALOG.topics:
        for pattern in topic.forbid_calls:
            module_name, _, attr = pattern.rpartition(".")
            module = importlib.import_module(module_name)
            assert fnmatch.filter(dir(module), attr), f"{topic.id}: {pattern} names nothing"


def test_from_scratch_phases_refuse_torch_and_the_fence_follows_the_catalog():
    for topic in CATALOG.topics:
        if topic.phase <= 4:
            assert "torch" in topic.forbid_imports, topic.id
    assert "torch" not in TORCH_TOPIC.forbid_imports and TORCH_TOPIC.forbid_calls


def test_the_catalog_says_which_graders_import_torch():
    """`torch = true` sets the topic's speed bar (4 s instead of 2): it must be true."""
    for topic in CATALOG.topics:
        if topic.available:
            imports = "import torch" in topic.grader_path.read_text(encoding="utf-8")
            assert topic.grader_torch == imports, f"{topic.id}: set torch = {str(imports).lower()}"
