"""The re-ranker read by kefu's own tree evaluator: same numbers as LightGBM, and the answer
path never imports LightGBM (0.7 s of the bot's first answer)."""

import subprocess
import sys

import numpy as np


def test_the_tree_evaluator_gives_lightgbms_probabilities():
    import lightgbm as lgb

    from kefu.faq.index import RANKER_PATH
    from kefu.faq.trees import Trees

    booster = lgb.Booster(model_str=RANKER_PATH.read_text(encoding="utf-8"))
    trees = Trees.load(RANKER_PATH)
    rng = np.random.default_rng(16)
    x = np.round(rng.random((500, booster.num_feature())) * 1.2 - 0.1, 6)
    x[:, -1] *= 30
    want = booster.predict(x, num_threads=1)
    got = trees.predict(x)
    assert np.abs(want - got).max() <= 1e-12
    assert len(set(np.round(got, 3))) > 50  # the inputs reach many different leaves


def test_one_leaf_trees_and_other_objectives():
    import pytest

    from kefu.faq.trees import Trees

    text = "objective=binary sigmoid:1\nTree=0\nnum_leaves=1\nleaf_value=0.5\n\nend of trees\n"
    assert Trees(text).raw(np.zeros((2, 3))).tolist() == [0.5, 0.5]
    with pytest.raises(ValueError):
        Trees("objective=regression\nTree=0\nnum_leaves=1\nleaf_value=0\n")


def test_answering_does_not_import_lightgbm():
    code = (
        "import sys\n"
        "from kefu.faq.index import FaqIndex, FaqItem\n"
        "ix = FaqIndex.build([FaqItem('ship', '什么时候发货', '48小时内发货'),"
        " FaqItem('post', '包邮吗', '全店包邮')])\n"
        "a = ix.answer('啥时候发货呀')\n"
        "assert a is not None and a.faq == 'ship', a\n"
        "print('lightgbm' in sys.modules, 'pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
