import argparse
from pathlib import Path

import pytest

from lulcbook import cli_options


def _parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    root = argparse.ArgumentParser(prog="lulcbook")
    sub = root.add_subparsers(dest="command", required=True)
    p = cli_options.add_command(sub, "run", help="h", description="d")
    cli_options.add_model_options(p, model_help="m", class_help="c")
    cli_options.add_run_options(p, tile_size=256, workers=3)
    cli_options.add_stac_search_options(p, collection=None, max_cloud=20.0, api=False)
    p.add_argument("--bbox", type=cli_options.number_list(float))
    p.add_argument("--values", type=cli_options.number_list(int))
    p.add_argument("--names", type=cli_options.name_list)
    return root, p


def test_shared_options_parse_and_read_back_as_keywords() -> None:
    root, _ = _parser()
    args = root.parse_args(
        ["run", "--debug", "--no-progress", "--bbox", "12.5,52,13,53", "--names", " B02, ,b3"]
    )
    assert args.debug is True and args.model is None and args.collection is None
    assert args.max_cloud == 20.0 and not hasattr(args, "stac_url")
    assert args.bbox == [12.5, 52.0, 13.0, 53.0] and args.names == ["B02", "b3"]
    assert cli_options.run_options(args) == {
        "tile_size": 256, "overlap": 32, "workers": 3, "scheduler": None, "progress": False,
    }  # fmt: skip
    assert not hasattr(root.parse_args(["run"]), "debug")


def test_number_lists_name_the_bad_value() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="comma-separated integers, got '1,x'"):
        cli_options.number_list(int)("1,x")
    with pytest.raises(argparse.ArgumentTypeError, match="comma-separated numbers"):
        cli_options.number_list(float)("a")


def test_a_model_file_or_a_shipped_name(tmp_path: Path) -> None:
    weights = tmp_path / "m.pt"
    weights.write_bytes(b"")
    m = cli_options.choose_model(str(weights), None)
    assert m.weights == weights.resolve() and m.name == "m.pt" and m.version == ""
    assert m.model_class == cli_options.DEFAULT_MODEL_CLASS and m.metadata == {}
    assert cli_options.choose_model(str(weights), "x:Y").model_class == "x:Y"
    with pytest.raises(KeyError, match="no shipped model 'nope'"):
        cli_options.choose_model("nope", None)
