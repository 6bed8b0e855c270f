#!/usr/bin/env python3
"""Writes tests/data/golden/lbfgs_quadratic.gold: torch.optim.LBFGS's iterates on a convex
quadratic, which the C L-BFGS is checked against step by step.

Run by hand from the repository root (not in CI): python3 tests/reference/make_lbfgs_golden.py

f(x) = 1/2 x^T A x - b^T x with A symmetric positive definite (condition number ~ 300), so
the strong-Wolfe line search has to bracket and interpolate. For k = 1..K a fresh optimiser
runs one step() with max_iter = k from the same start; its x is the k-th iterate. Float32,
as clstyle's vectors are. "wolfe": torch 2.15's line search, which ends at the evaluation
budget (max_ls = max_eval - evaluations so far); "wolfe_ls25": every search may take 25
evaluations, the code path of torch releases before pytorch/pytorch#135026 (gatys.py's
forced_max_ls). Also a run without line search (lr = 0.05), neural-style's mode.
"""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from make_golden import write_golden  # noqa: E402
from gatys import forced_max_ls  # noqa: E402

N, K = 40, 12


def problem():
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.standard_normal((N, N)))
    eig = np.geomspace(0.1, 30.0, N)
    a = (q * eig) @ q.T
    a = ((a + a.T) / 2).astype(np.float32)
    b = rng.standard_normal(N).astype(np.float32)
    x0 = (rng.standard_normal(N) * 3).astype(np.float32)
    return torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(x0)


def run(a, b, x0, k, line_search, lr, max_ls):
    x = x0.clone().requires_grad_()
    opt = torch.optim.LBFGS([x], lr=lr, max_iter=k, history_size=5,
                            line_search_fn="strong_wolfe" if line_search else None)
    evals = [0]

    def closure():
        opt.zero_grad()
        loss = 0.5 * x @ (a @ x) - b @ x
        loss.backward()
        evals[0] += 1
        return loss

    with forced_max_ls(max_ls):
        opt.step(closure)
    with torch.no_grad():
        loss = float(0.5 * x @ (a @ x) - b @ x)
    return x.detach().clone(), loss, evals[0]


def main():
    a, b, x0 = problem()
    records = [("a", a), ("b", b), ("x0", x0)]
    for mode, line_search, lr, max_ls in (("wolfe", True, 1.0, None),
                                          ("wolfe_ls25", True, 1.0, 25),
                                          ("fixed", False, 0.05, None)):
        for k in range(1, K + 1):
            x, loss, evals = run(a, b, x0, k, line_search, lr, max_ls)
            records += [("%s/x%d" % (mode, k), x), ("%s/loss%d" % (mode, k), loss),
                        ("%s/evals%d" % (mode, k), float(evals))]
    out = os.path.join(os.path.dirname(__file__), "..", "data", "golden", "lbfgs_quadratic.gold")
    write_golden(os.path.normpath(out), records)


if __name__ == "__main__":
    main()
