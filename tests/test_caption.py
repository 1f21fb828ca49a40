"""rnnlab caption: scenes and rendering from a seed, the held-out split, the caption grammar and its parser,
attention and decoding invariants, a tiny model overfitting, image loading, exact resume, the CLI's outputs."""
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from rnnlab.cli import main
from rnnlab.models.beam import beam_search, greedy
from rnnlab.models.caption_decoder import Captioner, CaptionerConfig
from rnnlab.models.image_encoder import ImageEncoderConfig
from rnnlab.tasks.caption_data import Vocab, load_data, make_data, teacher_batch
from rnnlab.tasks.caption_decode import describe_images, score_captions
from rnnlab.tasks.caption_grammar import attribute_slots, captions, pair_hits, parse
from rnnlab.tasks.caption_images import load_image
from rnnlab.tasks.caption_scenes import HELDOUT_PAIRS, SPLITS, Obj, Scene, sample_split

TINY = ["--channels", "8,8,8,8,8", "--embed", "8", "--hidden", "16", "--attention", "8", "--batch-size", "8",
        "--eval-every", "3", "--max-len", "20", "--beam", "2", "--no-progress", "--device", "cpu"]


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes") / "d"
    make_data(root, 60, seed=5)
    return root


def _scene(*objs, axis=None):
    return Scene(tuple(Obj(*o) for o in objs), axis)


# ---------------------------------------------------------------------------- scenes and captions


def test_rendering_is_deterministic_by_seed(data, tmp_path):
    make_data(tmp_path / "again", 60, seed=5)
    make_data(tmp_path / "other", 60, seed=6)
    assert (tmp_path / "again" / "captions.jsonl").read_bytes() == (data / "captions.jsonl").read_bytes()
    for name in ("images/train/000000.png", "images/heldout_combinations/000002.png"):
        assert (tmp_path / "again" / name).read_bytes() == (data / name).read_bytes()
    assert (tmp_path / "other" / "captions.jsonl").read_bytes() != (data / "captions.jsonl").read_bytes()


def test_heldout_combinations_never_occur_outside_their_split():
    for split in SPLITS:
        for scene in sample_split(0, split, 400):
            held = scene.pairs() & set(HELDOUT_PAIRS)
            assert bool(held) == (split == "heldout_combinations")
            xs = [o.y if scene.axis == "vertical" else o.x for o in scene.objects]
            assert xs == sorted(xs)                                     # canonical order along the axis


def test_every_caption_parses_back_to_its_scene():
    for scene in sample_split(1, "train", 200):
        for c in captions(scene):
            p = parse(c)
            assert p.well_formed and p.objects == [o.attributes for o in scene.objects], c
            right, total = attribute_slots(scene, c)
            assert right == total == 3 * len(scene.objects) + (len(scene.objects) > 1)


def test_attribute_accuracy_on_hand_made_captions():
    two = _scene(("small", "red", "circle"), ("large", "blue", "square"), axis="horizontal")
    assert "a large blue square to the right of a little red circle" in captions(two)
    assert attribute_slots(two, "a big blue square right of a small red circle") == (7, 7)
    assert attribute_slots(two, "a small red circle right of a large blue square") == (1, 7)   # swapped: axis only
    assert attribute_slots(two, "a small red circle above a large blue square") == (6, 7)
    assert attribute_slots(two, "a small green circle left of a large blue star") == (5, 7)
    assert attribute_slots(two, "a small red circle") == (3, 7)                                  # one phrase missing
    assert attribute_slots(two, "nothing at all") == (0, 7)
    three = _scene(("small", "red", "circle"), ("large", "green", "star"), ("small", "blue", "square"),
                   axis="vertical")
    c = "a small blue square , a big green star and a little red circle from bottom to top"
    assert c in captions(three) and attribute_slots(three, c) == (10, 10)
    assert pair_hits(three, c, HELDOUT_PAIRS) == (1, 1)
    one = _scene(("large", "yellow", "triangle"))
    assert attribute_slots(one, "a small yellow triangle a big red star") == (2, 6)   # an extra phrase


def test_scores_count_any_valid_caption_as_exact():
    scene = _scene(("small", "red", "circle"))
    from rnnlab.tasks.caption_data import Split
    split = Split(np.zeros((2, 64, 64, 3), np.uint8), [captions(scene)] * 2, [scene] * 2)
    s = score_captions(["there is a little red circle", "a red circle"], split)
    assert s["exact_match"] == 0.5 and s["attribute_accuracy"] == 5 / 6   # "a red circle": no size and 0 < s["bleu4"] <= 100


# ---------------------------------------------------------------------------- the model


def test_the_decoder_reads_attribute_words_as_their_kinds_and_never_writes_a_kind():
    vocab = Vocab.fit([["a small red circle left of a big green star"]])
    read = vocab.input_map("kinds")
    assert [vocab.words[read[vocab.index[w]]] for w in "a small red circle left big star".split()] == \
        ["a", "<size>", "<colour>", "<shape>", "left", "<size>", "<shape>"]
    assert vocab.input_map("words") == tuple(range(vocab.size))
    colours = vocab.input_map("colours")                          # only the colour words are masked
    assert [vocab.words[colours[vocab.index[w]]] for w in "small red circle".split()] == ["small", "<colour>", "circle"]
    assert {vocab.words[i] for i in vocab.no_emit()} == {"<pad>", "<unk>", "<s>", "<size>", "<colour>", "<shape>"}
    assert vocab.input_map("colours-late") == colours and vocab.late("words") == ()
    assert {vocab.words[i] for i in vocab.late("colours-late")} == {"red", "green"}    # the colours it holds


def _model(vocab_size=20, seed=0, channels=(8, 8, 8, 8, 8), hidden=16, **kw):
    torch.manual_seed(seed)
    cfg = CaptionerConfig(vocab=vocab_size, encoder=ImageEncoderConfig(channels=channels), embed=8, hidden=hidden,
                          attention=8, dropout=0.0, **kw)
    return Captioner(cfg).eval()


@pytest.mark.parametrize("query", [False, True])
def test_a_late_colour_is_read_one_word_after_it_and_step_matches_teacher_forcing(query):
    """Ids 5, 6 read as 7 (<colour>) at once and as themselves one word later (with `query`, also by the
    attention of the step that reads them, and by nothing else); step = teacher forcing."""
    input_map = tuple(7 if i in (5, 6) else i for i in range(20))
    model = _model(seed=2, input_map=input_map, late=(5, 6), query=query)
    images = torch.randint(0, 256, (1, 64, 64, 3), dtype=torch.uint8)
    red, green = torch.tensor([[2, 9, 5, 11, 12]]), torch.tensor([[2, 9, 6, 11, 12]])   # <s> small red|green star ..
    with torch.no_grad():
        a, _ = model(images, red)
        b, _ = model(images, green)
        memory, steps = model.encode(images), []
        state = memory.state
        for t in range(red.shape[1]):
            logp, state, _ = model.step(red[:, t], state, memory)
            steps.append(logp)
    torch.testing.assert_close(torch.stack(steps, 1), torch.log_softmax(a, -1).index_fill(2, model.no_emit,
                                                                                         float("-inf")))
    torch.testing.assert_close(a[:, :2], b[:, :2])
    assert not torch.allclose(a[:, 3], b[:, 3])          # the word after the shape knows which colour was said
    if not query:
        torch.testing.assert_close(a[:, 2], b[:, 2])     # the shape after the colour (read at 2) is chosen without it
        return
    assert not torch.allclose(a[:, 2], b[:, 2])          # with a query the colour steers the attention there ...
    with torch.no_grad():                                # ... and nothing else: with the attention flat, no change
        model.attend.W_a.weight.zero_(), model.attend.W_a.bias.zero_(), model.query_embed.weight.zero_()
        a0, _ = model(images, red)
        b0, _ = model(images, green)
    torch.testing.assert_close(a0[:, :3], b0[:, :3])


def test_attention_weights_sum_to_one_over_the_grid():
    model = _model()
    images = torch.randint(0, 256, (3, 64, 64, 3), dtype=torch.uint8)
    logits, alpha = model(images, torch.randint(4, 20, (3, 5)))
    assert logits.shape == (3, 5, 20) and alpha.shape == (3, 5, 64)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(3, 5))
    assert (alpha >= 0).all()


def test_beam_one_equals_greedy_and_step_matches_teacher_forcing():
    model = _model(seed=1)
    images = torch.randint(0, 256, (4, 64, 64, 3), dtype=torch.uint8)
    limit = torch.full((4,), 7)
    with torch.no_grad():
        g, b = greedy(model, model.encode(images), limit), beam_search(model, model.encode(images), limit, beam=1)
        assert g.tokens == b.tokens
        ids = torch.tensor([[2] + g.tokens[0][:-1]])
        logits, alpha = model(images[:1], ids)
    torch.testing.assert_close(alpha[0], g.attention[0])
    n = len(g.tokens[0]) - 1                     # the last word may be the </s> forced at the length limit
    assert logits[0].argmax(-1).tolist()[:n] == g.tokens[0][:n]


def test_a_tiny_model_overfits_a_handful_of_images(data):
    split = load_data(data, ("train",))["train"].subset(range(4))
    vocab = Vocab.fit(split.captions)
    chosen = [c[0] for c in split.captions]
    model = _model(vocab.size, channels=(16, 16, 32, 32, 32), hidden=64).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    inp, tgt = (torch.from_numpy(x) for x in teacher_batch(vocab, chosen))
    images = torch.from_numpy(split.images)
    for _ in range(60):
        logits, _ = model(images, inp)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tgt, ignore_index=0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for m in model.modules():                     # BatchNorm's running statistics: these 4 images' own
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        model(images, inp)
    out = describe_images(model, split.images, vocab, torch.device("cpu"), beam=2)
    assert [c.text for c in out] == chosen


# ---------------------------------------------------------------------------- images


def test_image_loading_converts_modes_and_sizes(tmp_path):
    rgb = (np.arange(64 * 64 * 3) % 251).astype(np.uint8).reshape(64, 64, 3)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    assert (load_image(tmp_path / "rgb.png") == rgb).all()
    Image.fromarray(rgb[..., 0]).save(tmp_path / "gray.png")
    notes = []
    gray = load_image(tmp_path / "gray.png", notes=notes)
    assert gray.shape == (64, 64, 3) and (gray[..., 0] == gray[..., 2]).all() and notes
    rgba = np.dstack([rgb, np.full((64, 64), 0, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    assert (load_image(tmp_path / "clear.png") == 0).all()            # fully transparent: the black background
    Image.fromarray(rgb).resize((200, 120)).save(tmp_path / "big.jpg")
    notes = []
    assert load_image(tmp_path / "big.jpg", notes=notes).shape == (64, 64, 3) and "200x120" in notes[0]


# ---------------------------------------------------------------------------- the command line


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cap"
    assert main(["caption", "train", "--data", str(data), "--out", str(out), "--max-steps", "6", *TINY]) == 0
    return out


def test_train_leaves_a_run_and_eval_json_has_the_keys(run, capsys):
    assert {"best", "last", "metrics.jsonl", "loss.png"} <= {p.name for p in run.iterdir()}
    capsys.readouterr()
    assert main(["caption", "eval", str(run), "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"bleu4", "exact_match", "attribute_accuracy", "heldout_combinations", "gap", "n", "beam"} <= set(out)
    assert {"bleu4", "exact_match", "attribute_accuracy", "pair_accuracy", "n"} <= set(out["heldout_combinations"])


def test_describe_and_attention_on_any_image(run, data, tmp_path, capsys):
    Image.open(data / "images/test/000000.png").convert("LA").resize((100, 100)).save(tmp_path / "odd.png")
    capsys.readouterr()
    assert main(["caption", "attention", str(run), str(tmp_path / "odd.png"), "--out", str(tmp_path / "a.png"),
                 "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (tmp_path / "a.png").stat().st_size > 0 and out["notes"]
    assert len(out["attention"]) == len(out["words"]) + 1 and len(out["attention"][0]) == 64


def test_bad_input_is_one_line_exit_2(run, tmp_path, capsys):
    (tmp_path / "not.png").write_text("hello")
    assert "not a readable image" in _error(capsys, ["caption", "describe", str(run), str(tmp_path / "not.png")])
    assert "does not exist" in _error(capsys, ["caption", "describe", str(run), str(tmp_path / "none.png")])
    assert "no captions.jsonl" in _error(capsys, ["caption", "train", "--data", str(tmp_path), "--out",
                                                 str(tmp_path / "r")])
    assert "not empty" in _error(capsys, ["caption", "make-data", "--out", str(run)])
    assert "--channels" in _error(capsys, ["caption", "train", "--channels", "8,x", "--out", str(tmp_path / "q")])


def test_resume_equals_one_run(data, tmp_path):
    common = ["--data", str(data), *TINY, "--seed", "3", "--lr-decay-steps", "8"]
    assert main(["caption", "train", *common, "--out", str(tmp_path / "one"), "--max-steps", "8"]) == 0
    assert main(["caption", "train", *common, "--out", str(tmp_path / "two"), "--max-steps", "4"]) == 0
    assert main(["caption", "train", "--resume", str(tmp_path / "two"), "--max-steps", "8", "--no-progress"]) == 0
    a, b = (load_file(str(tmp_path / r / "last" / "model.safetensors")) for r in ("one", "two"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
