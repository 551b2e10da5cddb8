"""`kefu faq learn`, `kefu faq ask` and `kefu eval faq`: the learning FAQ bot from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from kefu.cli.common import command_group, input_or_exit
from kefu.testing import shared_data_root

out = Console()
err = Console(stderr=True)


def faq_learn(
    events: Path = typer.Option(
        ..., "--events", help="JSON Lines of kefu events (messages, ratings, orders)."
    ),
    out_path: Path = typer.Option(
        Path("proposals.jsonl"), "--out", help="Where to write the proposals."
    ),
    previous: Path | None = typer.Option(
        None, help="Earlier proposals: their review decisions are kept."
    ),
    min_support: int = typer.Option(
        2, min=1, help="Conversations that must ask a question to propose it."
    ),
    show: int = typer.Option(10, min=0, help="Print the first N proposals."),
) -> None:
    """Mine FAQ proposals from past conversations (never from ones rated 2 or lower).

    `faq` events in the same file are the store's entries: questions an agent answered with
    an entry's answer become proposed variants of that entry instead of new entries.
    """
    from kefu.engine.events import Faq
    from kefu.engine.readers import read_events
    from kefu.faq.index import FaqItem
    from kefu.faq.learn import group_conversations, learn, merge, read_proposals, write_proposals

    input_or_exit(events)
    with err.status("reading conversations …"):
        evs = list(read_events(events))
        chats = group_conversations(evs)
    faq: dict[str, FaqItem] = {}
    for e in evs:
        if isinstance(e, Faq):
            if e.enabled:
                faq[e.faq] = FaqItem(e.faq, e.question, e.answer, tuple(e.variants or ()))
            else:
                faq.pop(e.faq, None)
    with err.status(f"learning from {len(chats)} conversations …"):
        proposals = learn(chats, min_support=min_support, faq=faq.values())
    if previous is not None:
        proposals = merge(read_proposals(input_or_exit(previous)), proposals)
    n = write_proposals(out_path, proposals)
    err.print(f"{len(chats)} conversations -> {n} proposals in {out_path}")
    if show:
        table = Table("id", "kind", "status", "question", "answer", "uses", "asked")
        for p in proposals[:show]:
            kind = p.kind if p.target is None else f"{p.kind} of {p.target}"
            table.add_row(p.id, kind, p.status, p.question[:30], p.answer[:40],
                          str(p.evidence.uses), str(p.evidence.asked))  # fmt: skip
        out.print(table)


def faq_ask(
    text: str = typer.Argument(..., help="The buyer's question."),
    events: Path | None = typer.Option(
        None, "--events", help="Events with the store's `faq` entries (and `product` events)."
    ),
    proposals: Path | None = typer.Option(None, help="Proposals: the approved/edited ones answer."),
    store: str | None = typer.Option(None, help="The store (default: the first one in --events)."),
    product: str | None = typer.Option(None, help="The product card the buyer is looking at."),
    threshold: float | None = typer.Option(
        None, min=0, max=1, help="Confidence below which the bot hands over (default: settings)."
    ),
    settings: Path | None = typer.Option(None, help="Settings file ([bot] threshold)."),
    provider_url: str | None = typer.Option(
        None, help="OpenAI-compatible endpoint (…/v1) that picks among the found entries."
    ),
    provider_model: str = typer.Option("qwen2.5", help="The provider's model name."),
    provider_timeout: float = typer.Option(2.0, min=0.05, help="Seconds before falling back."),
) -> None:
    """Answer one question exactly as the engine's bot would (same index, same decision); with
    --provider-url a model picks among the found entries (time-out: the built-in answer)."""
    from kefu.cli.common import settings_or_exit
    from kefu.conversations import bot
    from kefu.engine.events import Faq, Product
    from kefu.engine.readers import read_events
    from kefu.engine.state import ProductState, StoreState
    from kefu.faq.learn import accepted, read_proposals, with_variants

    evs = list(read_events(input_or_exit(events))) if events is not None else []
    sid = store or next((e.store for e in evs if isinstance(e, Faq | Product)), "store")
    st = StoreState(store=sid)
    for e in evs:
        if isinstance(e, Faq) and e.store == sid:
            bot.apply_faq(st, e)
        elif isinstance(e, Product) and e.store == sid:
            st.products[e.product] = ProductState(
                product=e.product, title=e.title, price=e.price, category=e.category,
                status=e.status, stock=e.stock, attrs=e.attrs, description=e.description,
            )  # fmt: skip
    if proposals is not None:
        props = read_proposals(input_or_exit(proposals))
        for it in accepted(props):
            bot.apply_faq(st, Faq(ts=0, store=sid, faq=it.faq, question=it.question,
                                  answer=it.answer, variants=list(it.variants)))  # fmt: skip
        for it in with_variants([st.faq[k] for k in sorted(st.faq)], props):
            if list(it.variants) != st.faq[it.faq].variants:  # approved wordings of an entry
                e = Faq(ts=0, store=sid, faq=it.faq, question=it.question, answer=it.answer,
                        variants=list(it.variants), keywords=list(it.keywords),
                        related=list(it.related))  # fmt: skip
                bot.apply_faq(st, e)
    limit = (
        threshold
        if threshold is not None
        else settings_or_exit(settings).for_store(sid).bot.threshold
    )
    ans = bot.answer(st, text, product, limit)
    source = "builtin"
    if provider_url and (ans is None or ans.source not in ("product", "keyword")):
        import os

        from kefu.faq.provider import Provider, answer_with

        key = os.environ.get("KEFU_PROVIDER_KEY")
        ans, source = answer_with(
            bot.index(st, limit),
            text,
            Provider(provider_url, provider_model, provider_timeout, key),
        )
    doc: dict[str, Any] = {"answer": None} if ans is None else {
        "faq": ans.faq, "text": ans.text, "score": ans.score, "confident": ans.confident,
        "source": ans.source, "question": ans.question, "supplementary": ans.supplementary,
    }  # fmt: skip
    if provider_url:
        doc["decided_by"] = source
    typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())


def faq_train_ranker(
    jddc: Path | None = typer.Option(
        None, help="Folder of jddc_baseline_* (default: shared data)."
    ),
    afqmc: Path | None = typer.Option(None, help="afqmc_dev.jsonl (default: shared data)."),
    out_path: Path | None = typer.Option(
        None, "--out", help="Model file (default: the shipped one)."
    ),
) -> None:
    """Retrain the FAQ re-ranker from weak labels (JDDC chats, even AFQMC half); deterministic."""
    from kefu.faq.index import RANKER_PATH
    from kefu.faq.ranker import train

    root = shared_data_root()
    jd = input_or_exit(jddc or root / "conversations")
    af = input_or_exit(afqmc or root / "faq" / "afqmc_dev.jsonl")
    with err.status("training …") as st:
        doc = train(jd, af, out_path or RANKER_PATH, progress=lambda m: st.update(f"{m} …"))
    typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())


def eval_faq(
    jddc: Path | None = typer.Option(
        None, help="Folder of jddc_baseline_* (default: shared data)."
    ),
    afqmc: Path | None = typer.Option(None, help="afqmc_dev.jsonl (default: shared data)."),
    limit: int | None = typer.Option(None, help="Read only the first N lines of each file."),
    parts: str = typer.Option(
        "store,jddc,afqmc,proposals", "--parts", help="Which evaluations, comma-separated."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON only."),
) -> None:
    """Store-FAQ paraphrases (bot at the default threshold vs Jaccard and BM25), JD chats
    (learned bot vs plain BM25 and the most frequent reply), AFQMC same-meaning accuracy/F1."""
    from kefu.engine.settings import BotSection
    from kefu.faq.evaluate import (
        LABELLED,
        evaluate_afqmc,
        evaluate_jddc,
        evaluate_jddc_bot,
        evaluate_proposals,
    )
    from kefu.faq.paraphrase import evaluate_store

    want = {p.strip() for p in parts.split(",") if p.strip()}
    unknown = want - {"store", "jddc", "afqmc", "proposals"}
    if unknown:
        err.print(f"[red]unknown part(s):[/red] {', '.join(sorted(unknown))}")
        raise typer.Exit(2)
    root = shared_data_root()
    jd = jddc or root / "conversations"
    af = afqmc or root / "faq" / "afqmc_dev.jsonl"
    doc: dict[str, Any] = {}
    if "store" in want:
        with err.status("store FAQ paraphrases …") as st:
            doc["store"] = evaluate_store(
                BotSection().threshold, progress=lambda m: st.update(f"store FAQ: {m} …")
            )
    if "jddc" not in want:
        pass
    elif (jd / "jddc_baseline_train_context.txt").exists():
        with err.status("JDDC …") as st:
            doc["jddc"] = evaluate_jddc(jd, limit, lambda m: st.update(f"JDDC: {m} …"))
            doc["jddc_bot"] = evaluate_jddc_bot(jd, limit, lambda m: st.update(f"JDDC: {m} …"))
    else:
        err.print(f"[yellow]no JDDC files in {jd}, skipped[/yellow]")
    if (
        "proposals" in want
        and LABELLED.exists()
        and (jd / "jddc_baseline_train_context.txt").exists()
    ):
        with err.status("proposal precision …"):
            doc["proposals"] = evaluate_proposals(jd)
    if "afqmc" not in want:
        pass
    elif af.exists():
        with err.status("AFQMC …") as st:
            doc["afqmc"] = evaluate_afqmc(af, limit, lambda m: st.update(f"AFQMC: {m} …"))
    else:
        err.print(f"[yellow]no {af}, skipped[/yellow]")
    if not doc:
        raise typer.Exit(2)
    if as_json:
        typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    _print(doc)


def _print(doc: dict[str, Any]) -> None:
    if "jddc_bot" in doc:
        b = doc["jddc_bot"]
        title = f"{b['test_lines']} contexts, {b['proposals']} proposals approved"
        t = Table("JDDC test, the store's bot", "exact@1", "char-F1@1", "answer rate",
                  title=title)  # fmt: skip
        t.add_row("bot (learn defaults, default threshold)", f"{b['bot']['exact@1']:.3f}",
                  f"{b['bot']['char_f1@1']:.3f}", f"{b['bot']['answer_rate']:.3f}")  # fmt: skip
        for name, key in (("always the most frequent reply", "most_frequent_reply"),
                          ("plain BM25 nearest context", "bm25")):  # fmt: skip
            t.add_row(name, f"{b[key]['exact@1']:.3f}", f"{b[key]['char_f1@1']:.3f}", "1.000")
        out.print(t)
        out.print(f"smart assist exact@5 {b['assist_exact@5']}, char-F1@1 {b['assist_char_f1@1']}")
    if "proposals" in doc:
        p = doc["proposals"]
        out.print(f"JD proposals (defaults): {p['proposals_now']} now; precision on the "
                  f"{p['labelled']} hand-labelled {p['precision_labelled']:.3f}, on the "
                  f"{p['labelled_still_proposed']} still proposed "
                  f"{p['precision_still_proposed']}")  # fmt: skip
    if "store" in doc:
        d = doc["store"]
        t = Table("store FAQ paraphrases", "threshold", "in-scope top-1", "top-1 any",
                  "wrong answers", "out-of-scope refusal",
                  title=f"{d['entries']} FAQ entries + {d['product_entries']} product facts; "
                        "dev / held-out test")  # fmt: skip
        for name, key in (("bot (default threshold)", "bot"), ("bigram Jaccard", "jaccard"),
                          ("plain BM25", "bm25")):  # fmt: skip
            for part in ("dev", "test"):
                m = d[key][part]
                t.add_row(f"{name} {part} ({m['in_scope']}+{m['out_of_scope']})",
                          f"{m['threshold']:.3f}", f"{m['top1']:.3f}", f"{m['top1_any']:.3f}",
                          f"{m['wrong_answer_rate']:.3f}", f"{m['refusal']:.3f}")  # fmt: skip
        out.print(t)
        r = Table("confidence", "answers", "mean confidence", "share right",
                  title="reliability of the bot's top answer (test)")  # fmt: skip
        for lo, hi, n, mean, ok in d["bot"]["reliability_test"]:
            r.add_row(f"{lo:.1f}-{hi:.1f}", str(n), f"{mean:.3f}", f"{ok:.3f}")
        out.print(r)
        out.print(f"best threshold on dev (right minus wrong): {d['bot']['threshold_best_on_dev']}")
    if "jddc" in doc:
        j = doc["jddc"]
        title = f"{j['test_lines']} cases, equivalent = bigram Dice >= {j['equivalent_dice']}"
        t = Table("JDDC (test contexts)", "recall@1", "recall@5", "content r@1", "content r@5",
                  title=title)  # fmt: skip
        for name, key in (("learned bot", "learned"), ("plain BM25", "bm25"),
                          ("5 most frequent replies", "most_frequent_replies")):  # fmt: skip
            c = j["content"][key]
            t.add_row(name, f"{j[key]['recall@1']:.3f}", f"{j[key]['recall@5']:.3f}",
                      f"{c['recall@1']:.3f}", f"{c['recall@5']:.3f}")  # fmt: skip
        out.print(t)
    if "afqmc" in doc:
        a = doc["afqmc"]
        title = f"{a['report_pairs']} pairs, {a['positives_report']} same meaning"
        t = Table("AFQMC (report half)", "threshold", "accuracy", "precision", "recall", "F1",
                  title=title)  # fmt: skip
        for name, key in (("matcher (best-F1 threshold)", "matcher"), ("plain BM25", "bm25")):
            m = a[key]
            t.add_row(name, f"{m['threshold']:.3f}", f"{m['accuracy']:.3f}",
                      f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}")  # fmt: skip
        m = a["matcher_at_0.5"]
        t.add_row("matcher at 0.5", "0.500", f"{m['accuracy']:.3f}", f"{m['precision']:.3f}",
                  f"{m['recall']:.3f}", f"{m['f1']:.3f}")  # fmt: skip
        out.print(t)
        out.print(f"majority accuracy {a['majority_accuracy']}, all-same F1 {a['all_same_f1']}, "
                  f"calibration error {a['calibration_error']}")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add `faq learn`, `faq ask` and `eval faq`."""
    faq = command_group(
        app, "faq", "The FAQ bot: learn entries from conversations, ask it questions."
    )
    faq.command("learn")(faq_learn)
    faq.command("ask")(faq_ask)
    faq.command("train-ranker")(faq_train_ranker)
    ev = command_group(app, "eval", "Offline evaluation of kefu's models.")
    ev.command("faq")(eval_faq)
