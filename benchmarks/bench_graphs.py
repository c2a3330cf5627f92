"""Throughput and memory of superpixel segmentation, graph building and GNN inference.

Runs the Brandenburg Sentinel-2 scene (T33UUU, 1536 × 768 px at 10 m, 117.96 km²) through the
object-based pipeline of notebook 02-gnn tile by tile — SLIC (or Felzenszwalb) segmentation,
region-adjacency graph with node features, GNN forward pass — and reports, per tile size, the
seconds and km²/s of each step, the number of segments, the peak traced Python/numpy memory
(``tracemalloc``) of the run and the process's peak resident memory. The trained
``models/gnn.pt`` is used when present; otherwise a freshly initialised model with the
architecture of ``params.yaml`` (inference speed does not depend on the weights). Results go to
``reports/benchmarks/graphs.json``.

Usage::

    python benchmarks/bench_graphs.py [--tile-sizes 128 256 512] [--method slic] [--threads 1]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
import tracemalloc

import numpy as np
import torch
import torch.nn.functional as F

from lulcbook import config, graphs, io, legend
from lulcbook.models.gnn import SegmentClassifier, build_model
from lulcbook.sources import sample


def _classifier(paths: config.Paths, params: dict, bands: list[str], scene: np.ndarray) -> tuple:
    path = paths.models / "gnn.pt"
    if path.exists():
        return SegmentClassifier.load(path), str(path)
    spec = params["models"][params["final_model"]]
    g = graphs.patch_graph(scene[:, :256, :256], None, **config.load_params("superpixels"))
    kwargs = {"in_dim": g.num_node_features, "n_classes": legend.N_CLASSES, **spec["model"]}
    model = build_model(spec["cls"], **kwargs)
    clf = SegmentClassifier(
        model,
        kwargs,
        bands,
        legend.KEYS,
        config.load_params("superpixels"),
        graphs.FeatureScaler().fit([g]),
    )
    return clf, "freshly initialised (no trained models/gnn.pt)"


def _run(clf: SegmentClassifier, scene: np.ndarray, tile: int, overlap: int, method: str) -> dict:
    _, h, w = scene.shape
    gp = {**clf.graph_params, "method": method}
    t_seg = t_graph = t_gnn = 0.0
    n_seg = n_tiles = 0
    tracemalloc.start()
    t0 = time.perf_counter()
    for r in range(0, h, tile):
        for c in range(0, w, tile):
            r0, c0 = max(r - overlap, 0), max(c - overlap, 0)
            img = scene[:, r0 : min(r + tile + overlap, h), c0 : min(c + tile + overlap, w)]
            img, _ = graphs.fill_invalid(img)
            t = time.perf_counter()
            seg = graphs.segment(img, **gp)
            t_seg += time.perf_counter() - t
            t = time.perf_counter()
            g = graphs.graph_from_segments(img, seg)
            g.x = clf.scaler.transform_x(g.x)
            t_graph += time.perf_counter() - t
            t = time.perf_counter()
            with torch.no_grad():
                proba = F.softmax(clf.model(g), dim=1)
                _ = proba.numpy().T[:, seg]
            t_gnn += time.perf_counter() - t
            n_seg += g.num_nodes
            n_tiles += 1
    total = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    area = h * w * 1e-4  # km² at 10 m
    return {
        "tile_size": tile,
        "overlap": overlap,
        "method": method,
        "n_tiles": n_tiles,
        "n_segments": n_seg,
        "segment_s": t_seg,
        "graph_s": t_graph,
        "gnn_s": t_gnn,
        "total_s": total,
        "km2_per_s": {
            "segment": area / t_seg,
            "graph": area / t_graph,
            "gnn": area / t_gnn,
            "total": area / total,
        },
        "peak_traced_mb": peak / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tile-sizes", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--overlap", type=int, default=32)
    ap.add_argument("--method", default="slic", choices=list(graphs.METHODS))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    params = config.load_params("gnn")
    paths = config.get_paths()
    bands = config.load_params("data")["bands"]
    scene = sample.read_brandenburg(paths.sample, bands).transpose("band", "y", "x")
    arr = scene.values.astype(np.float32)
    clf, source = _classifier(paths, params, bands, arr)
    clf.model.eval()
    runs = []
    for tile in args.tile_sizes:
        res = _run(clf, arr, tile, args.overlap, args.method)
        runs.append(res)
        print(
            f"tile {tile:4d}: {res['n_segments']:6d} segments | segment {res['segment_s']:.2f}s "
            f"graph {res['graph_s']:.2f}s gnn {res['gnn_s']:.2f}s | "
            f"{res['km2_per_s']['total']:.1f} km²/s | peak traced {res['peak_traced_mb']:.0f} MB"
        )
    out = {
        "scene": {
            "name": "Sentinel-2 L1C T33UUU 2017-02-16 (Brandenburg)",
            "pixels": int(arr.shape[1] * arr.shape[2]),
            "area_km2": arr.shape[1] * arr.shape[2] * 1e-4,
            "bands": bands,
        },
        "model": source,
        "model_class": clf.model_name,
        "graph_params": clf.graph_params,
        "threads": args.threads,
        "runs": runs,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(),
        },  # fmt: skip
    }
    io.write_json(paths.benchmarks / "graphs.json", out)
    print("written", paths.benchmarks / "graphs.json")


if __name__ == "__main__":
    main()
