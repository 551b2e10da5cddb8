"""The shipped re-ranker evaluated without LightGBM: its text model read by our own code.

`import lightgbm` costs about 0.7 s (it imports pandas) on the bot's first answer; the answer
path only needs the trees. A LightGBM text model (`Tree=` blocks of `split_feature`,
`threshold`, `left_child`, `right_child`, `leaf_value`) with numerical splits (`x <= threshold`
goes left) and a binary sigmoid objective is evaluated here with numpy, every tree and every
row at once. Training (`kefu faq train-ranker`) still uses LightGBM.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class Trees:
    """A LightGBM binary model as flat arrays; `predict` gives P(label 1) like Booster.predict."""

    def __init__(self, text: str) -> None:
        trees: list[dict[str, list[float]]] = []
        sigmoid = 1.0
        cur: dict[str, list[float]] | None = None
        for line in text.splitlines():
            if line.startswith("objective="):
                parts = line.split("=", 1)[1].split()
                if parts[0] != "binary":
                    raise ValueError(f"only binary models are supported, not {parts[0]}")
                for p in parts[1:]:
                    if p.startswith("sigmoid:"):
                        sigmoid = float(p.split(":", 1)[1])
            elif line.startswith("Tree="):
                cur = {}
                trees.append(cur)
            elif line.startswith("end of trees"):
                break
            elif cur is not None and "=" in line:
                key, val = line.split("=", 1)
                if key in ("split_feature", "threshold", "left_child", "right_child",
                           "leaf_value", "decision_type", "num_leaves"):  # fmt: skip
                    cur[key] = [float(v) for v in val.split()]
        if not trees:
            raise ValueError("no trees in the model")
        self.sigmoid = sigmoid
        n_trees = len(trees)
        max_nodes = max(1, *(len(t.get("split_feature", [])) for t in trees))
        max_leaves = max(len(t["leaf_value"]) for t in trees)
        self.feature = np.zeros((n_trees, max_nodes), dtype=np.int64)
        self.threshold = np.zeros((n_trees, max_nodes), dtype=np.float64)
        self.left = np.full((n_trees, max_nodes), -1, dtype=np.int64)
        self.right = np.full((n_trees, max_nodes), -1, dtype=np.int64)
        self.leaf = np.zeros((n_trees, max_leaves), dtype=np.float64)
        self.root = np.zeros(n_trees, dtype=np.int64)  # 0, or ~0 = leaf 0 for a one-leaf tree
        for t, tree in enumerate(trees):
            self.leaf[t, : len(tree["leaf_value"])] = tree["leaf_value"]
            if int(tree["num_leaves"][0]) == 1:
                self.root[t] = -1
                continue
            if any(int(d) & 1 for d in tree["decision_type"]):
                raise ValueError("categorical splits are not supported")
            n = len(tree["split_feature"])
            self.feature[t, :n] = [int(v) for v in tree["split_feature"]]
            self.threshold[t, :n] = tree["threshold"]
            self.left[t, :n] = [int(v) for v in tree["left_child"]]
            self.right[t, :n] = [int(v) for v in tree["right_child"]]
        self.depth = max_nodes  # a path never has more splits than the tree has nodes

    @classmethod
    def load(cls, path: Path) -> Trees:
        """The model of a LightGBM text file (`Booster.save_model`)."""
        return cls(path.read_text(encoding="utf-8"))

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Sum of the trees' leaf values per row (LightGBM's raw score)."""
        x = np.asarray(x, dtype=np.float64)
        n_trees, rows = self.feature.shape[0], x.shape[0]
        tree = np.arange(n_trees)[:, None]
        row = np.arange(rows)[None, :]
        node = np.repeat(self.root[:, None], rows, axis=1)
        for _ in range(self.depth):
            inner = node >= 0
            if not inner.any():
                break
            at = np.where(inner, node, 0)
            value = x[row, self.feature[tree, at]]
            nxt = np.where(value <= self.threshold[tree, at], self.left[tree, at],
                           self.right[tree, at])  # fmt: skip
            node = np.where(inner, nxt, node)
        leaves = self.leaf[tree, ~node]
        total = np.zeros(rows, dtype=np.float64)
        for t in range(n_trees):  # tree by tree, as LightGBM adds them
            total += leaves[t]
        return total

    def predict(self, x: np.ndarray) -> np.ndarray:
        """P(label 1) per row: the sigmoid of the raw score."""
        return 1.0 / (1.0 + np.exp(-self.sigmoid * self.raw(x)))
