"""The typed schema of ``params.yaml``.

Every section of ``params.yaml`` is validated into one of the models below when it is
loaded (:func:`lulcbook.config.load_params`), after the smoke overrides and a notebook's
overrides are merged in. A key the schema does not know is an error that names the key
and the section (a misspelt override is never silently ignored); a value of the wrong
type is an error that names the key, the value and the expected type.

Sections that hold open-ended maps (the graph models of ``gnn.models``, the continental
model zoo) type their entries, not their names; model keyword blocks (``model:`` of a graph
model or the CNN) are passed to the model's constructor, which rejects unknown keywords.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Strict(BaseModel):
    """A block of parameters: unknown keys are rejected, values are type-checked."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


# --------------------------------------------------------------------------- shared blocks
class Superpixels(Strict):
    """Superpixel segmentation (:func:`lulcbook.graphs.segment`), shared by every graph stage."""

    method: Literal["slic", "felzenszwalb"] = "slic"
    segment_size: float = Field(48.0, gt=0)
    compactness: float = Field(0.05, gt=0)
    sigma: float = Field(0.0, ge=0)


class Optimiser(Strict):
    """Epochs, learning rate, weight decay and batch size of a training loop."""

    epochs: int = Field(gt=0)
    lr: float = Field(gt=0)
    weight_decay: float = Field(0.0, ge=0)
    batch_size: int = Field(gt=0)


class Fit(Optimiser):
    """Optimiser settings of :func:`lulcbook.train.fit_gnn` and friends."""

    patience: int | None = Field(None, gt=0)
    crop: int | None = Field(None, gt=0)


class Network(Optimiser):
    """A small network's width, depth and dropout, with its optimiser settings."""

    hidden: int = Field(gt=0)
    depth: int = Field(gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)


class SceneTiling(Strict):
    """How the Brandenburg scene is tiled in memory."""

    tile_size: int = Field(gt=0)
    overlap: int = Field(ge=0)
    max_size: int | None = Field(None, gt=0)


# --------------------------------------------------------------------------- sections
class PathsSection(Strict):
    """``paths``: where the offline sample lives."""

    sample: str


class DataSection(Strict):
    """``data``: notebooks/01-data.ipynb."""

    bands: list[str] = Field(min_length=1)
    max_patches_per_class: int | None = Field(None, gt=0)
    climate_source: Literal["wc21_europe", "wc14_mosaic"] = "wc21_europe"
    climate_fill_km: float = Field(25.0, ge=0)
    val_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 0


class GraphModel(Strict):
    """One graph model of the comparison in 02-gnn."""

    cls: Literal["GraphUNet", "GNN"]
    model: dict[str, Any]
    semi: bool = False


class Semi(Strict):
    """FixMatch-style consistency on unlabelled nodes."""

    weight: float = Field(ge=0)
    threshold: float = Field(gt=0, le=1)
    noise: float = Field(ge=0)
    feature_drop: float = Field(ge=0, lt=1)
    edge_drop: float = Field(ge=0, lt=1)
    warmup: int = Field(ge=0)


class Cnn(Strict):
    """The pixel CNN baseline."""

    model: dict[str, Any]
    fit: Fit


class Rf(Strict):
    """The random-forest baseline on the labelled pixel's spectrum."""

    n_estimators: int = Field(gt=0)
    min_samples_leaf: int = Field(1, gt=0)


class GnnSection(Strict):
    """``gnn``: notebooks/02-gnn.ipynb."""

    seed: int = 0
    seeds: list[int] = Field(min_length=1)
    threads: int = Field(1, gt=0)
    n_jobs: int = Field(1, gt=0)
    models: dict[str, GraphModel] = Field(min_length=1)
    fit: Fit
    semi: Semi
    cnn: Cnn
    rf: Rf
    final_model: str
    n_boot: int = Field(gt=0)
    scene: SceneTiling


class BioclimGnn(Network):
    """The Graph U-Net of 03-bioclim."""

    model: Literal["GraphUNet", "GNN"]


class BioclimCnn(Network):
    """The pixel CNN of 03-bioclim."""

    crop: int = Field(gt=0)


class BioclimSection(Strict):
    """``bioclim``: notebooks/03-bioclim.ipynb."""

    families: list[Literal["gnn", "cnn"]] = Field(min_length=1)
    variants: list[Literal["no_climate", "climate_input", "climate_norm"]] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)
    missing_indicator: bool = True
    shuffle_seed: int = 7
    n_jobs: int = Field(1, gt=0)
    n_boot: int = Field(gt=0)
    boot_seed: int = 0
    gnn: BioclimGnn
    cnn: BioclimCnn


class TranslateSpectral(Network):
    """The per-pixel Landsat → Sentinel-2 MLP."""


class TranslateSpatial(Optimiser):
    """The 30 m → 10 m U-Net on simulated Landsat."""

    mtf_nyquist: float = Field(gt=0, lt=1)
    factor: int = Field(gt=1)
    base: int = Field(gt=0)
    depth: int = Field(gt=0)
    crop: int = Field(gt=0)


class TranslateConsistency(Strict):
    """Land-cover consistency of translated patches."""

    max_patches: int | None = Field(None, gt=0)


class TranslateChips(Strict):
    """The real Landsat chips."""

    max_size: int | None = Field(None, gt=0)
    poppendorf_sun_elevation_deg: float = Field(gt=0, le=90)


class TranslateSection(Strict):
    """``translate``: notebooks/05-translate.ipynb."""

    satellite: Literal["S2A", "S2B"] = "S2A"
    seed: int = 0
    threads: int = Field(1, gt=0)
    spectral: TranslateSpectral
    spatial: TranslateSpatial
    consistency: TranslateConsistency
    chips: TranslateChips


class UncertaintyModel(Strict):
    """The architecture of ``gnn.final_model``."""

    cls: Literal["GraphUNet", "GNN"]
    hidden: int = Field(gt=0)
    depth: int = Field(gt=0)
    dropout: float = Field(ge=0, lt=1)
    norm: str
    pool: str


class UncertaintySection(Strict):
    """``uncertainty``: notebooks/06-uncertainty.ipynb."""

    model: UncertaintyModel
    fit: Fit
    ensemble_members: int = Field(gt=1)
    mc_samples: int = Field(gt=0)
    n_bins: int = Field(gt=1)
    conformal_level: float = Field(gt=0, lt=1)
    conformal_method: Literal["lac", "aps"] = "aps"
    scene_mc_samples: int = Field(gt=0)
    scene: SceneTiling
    area_n_per_stratum: int = Field(gt=0)
    area_repeats: int = Field(gt=0)
    seed: int = 0


class MapsSpectral(Strict):
    """The LUCAS-trained segment classifier of the maps."""

    epochs: int = Field(gt=0)
    copies: int = Field(gt=0)
    hidden: int = Field(gt=0)
    dropout: float = Field(ge=0, lt=1)
    segment_size: float = Field(ge=0)
    compactness: float = Field(gt=0)
    seed: int = 0


class MapsCloud(Strict):
    """The L1C cloud and shadow mask (s2cloudless + shadow rule)."""

    threshold: float = Field(gt=0, lt=1)
    factor: int = Field(gt=0)
    average_px: int = Field(gt=0)
    dilation_px: int = Field(ge=0)
    shadow_search_px: int = Field(ge=0)
    shadow_nir_max: float = Field(gt=0)


class MapsSection(Strict):
    """``maps``: notebooks/07-maps.ipynb."""

    model: str
    tile_size: int = Field(gt=0)
    overlap: int = Field(ge=0)
    blocksize: int = Field(gt=0)
    mc_samples: int = Field(ge=0)
    workers: int = Field(gt=0)
    brandenburg_preset: str
    exeter_dates: int | None = Field(None, gt=0)
    brandenburg_rows: int | None = Field(None, gt=0)
    exeter_clear_max_masked: float = Field(gt=0, le=1)
    lucas_max_points: int | None = Field(None, gt=0)
    spectral: MapsSpectral
    cloud: MapsCloud
    n_boot: int = Field(gt=0)
    area_n_per_stratum: int = Field(gt=0)
    seed: int = 0
    ship: str


class Gbm(Strict):
    """Histogram gradient boosting."""

    max_iter: int = Field(gt=0)
    learning_rate: float = Field(gt=0)
    max_leaf_nodes: int = Field(gt=1)
    l2_regularization: float = Field(ge=0)


class Mlp(Strict):
    """The point MLP (all keys optional: entries override the section's ``mlp``)."""

    hidden: list[int] | None = None
    dropout: float | None = Field(None, ge=0, lt=1)
    epochs: int | None = Field(None, gt=0)
    batch_size: int | None = Field(None, gt=0)
    lr: float | None = Field(None, gt=0)
    weight_decay: float | None = Field(None, ge=0)
    label_smoothing: float | None = Field(None, ge=0, lt=1)
    class_weight: bool | None = None
    variant: Literal["no_climate", "climate_input", "climate_norm"] | None = None


class ContinentalModel(Strict):
    """One model of the blocked-CV comparison."""

    kind: Literal["gbm", "mlp", "ensemble"]
    features: str | None = None
    bio: bool | None = None
    seeds: list[int] | None = None
    mlp: Mlp | None = None
    members: list[str] | None = None


class LearningCurve(Strict):
    """Accuracy against the number of training points."""

    model: str
    sizes: list[int] = Field(min_length=1)


class ContinentalClimate(Strict):
    """In-region vs leave-region-out climate variants."""

    features: str
    variants: list[Literal["no_climate", "climate_input", "climate_norm"]] = Field(min_length=1)
    region_kinds: list[Literal["zone", "region"]] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)
    n_train: int = Field(gt=0)
    shuffle_seed: int = 7
    mlp: Mlp


class ContinentalExport(Strict):
    """A shipped point model."""

    features: str
    seeds: list[int] = Field(min_length=1)
    mlp: Mlp
    reference: str


class ContinentalSection(Strict):
    """``continental``: notebooks/08-continental.ipynb."""

    seed: int = 0
    n_jobs: int = Field(1, gt=0)
    max_points: int | None = Field(None, gt=0)
    climate_fill_km: float = Field(ge=0)
    block_km: float = Field(gt=0)
    n_folds: int = Field(gt=1)
    n_zones: int = Field(gt=1)
    n_regions: int = Field(gt=1)
    n_boot: int = Field(gt=0)
    boot_seed: int = 0
    gbm: Gbm
    mlp: Mlp
    models: dict[str, ContinentalModel] = Field(min_length=1)
    learning_curve: LearningCurve
    climate: ContinentalClimate
    export: dict[str, ContinentalExport]


class MultitaskTrain(Strict):
    """The multi-task network's training."""

    steps: int = Field(gt=0)
    batch: int = Field(gt=0)
    crop: int = Field(gt=0)
    width: int = Field(gt=0)
    depth: int = Field(gt=0)
    lr: float = Field(gt=0)
    lai_scale: float = Field(gt=0)


class MultitaskSection(Strict):
    """``multitask``: notebooks/09-multitask.ipynb."""

    seeds: list[int] = Field(min_length=1)
    n_boot: int = Field(gt=0)
    boot_seed: int = 0
    train: MultitaskTrain


class TemporalSlovenia(Strict):
    """The Slovenia comparison: simulated sparse points from the dense reference."""

    n_train: int = Field(gt=0)
    block: int = Field(gt=0)
    buffer: int = Field(ge=0)
    test_share: float = Field(gt=0, lt=1)
    val_share: float = Field(gt=0, lt=1)
    min_clear: float = Field(gt=0, le=1)
    epochs: int = Field(gt=0)


class TemporalSection(Strict):
    """``temporal``: notebooks/10-temporal.ipynb."""

    seeds: list[int] = Field(min_length=1)
    slovenia: TemporalSlovenia
    n_boot: int = Field(gt=0)
    map_model: str
    change_prior: float = Field(gt=0, lt=1)
    prior_sweep: list[float] = Field(default_factory=list)
    period: Literal["date", "month", "season", "year"] = "month"
    map_block: int = Field(gt=0)
    clear_max_masked: float = Field(gt=0, le=1)
    crop: int | None = Field(None, gt=0)
    products: list[str] = Field(default_factory=list)


class DiffusionModel(Strict):
    """The diffusion autoencoder's denoiser and semantic encoder."""

    base: int = Field(gt=0)
    mults: list[int] = Field(min_length=1)
    time_dim: int = Field(gt=0)
    semantic_dim: int = Field(ge=0)
    encoder_base: int = Field(gt=0)
    norm: str
    dropout: float = Field(0.0, ge=0, lt=1)
    schedule: Literal["cosine", "linear"] = "cosine"
    timesteps: int = Field(gt=0)
    prediction: Literal["v", "eps"] = "v"
    ema_decay: float = Field(gt=0, lt=1)


class DiffusionTrain(Strict):
    """Training of the diffusion autoencoder."""

    steps: int = Field(gt=0)
    batch_size: int = Field(gt=0)
    lr: float = Field(gt=0)
    cond_dropout: float = Field(ge=0, lt=1)
    flips: bool = True


class DiffusionRegressor(Strict):
    """The climate regressor on the continental LUCAS points."""

    bios: list[str] = Field(min_length=1)
    max_points: int | None = Field(None, gt=0)
    max_rows: int | None = Field(None, gt=0)
    max_iter: int = Field(gt=0)
    block_km: float = Field(gt=0)


class DiffusionAugmentModel(Strict):
    """The graph classifier of the augmentation experiment."""

    name: Literal["GraphUNet", "GNN"]
    hidden: int = Field(gt=0)
    depth: int = Field(gt=0)
    dropout: float = Field(ge=0, lt=1)
    norm: str
    conv: str | None = None
    pool: str | None = None


class DiffusionAugment(Strict):
    """Leave-region-out augmentation experiment on the graph classifier."""

    graphs: Superpixels
    model: DiffusionAugmentModel
    fit: Optimiser
    seeds: list[int] = Field(min_length=1)


class Jitter(Strict):
    """Colour jitter of the control augmentation."""

    gain: float = Field(ge=0)
    offset: float = Field(ge=0)


class DiffusionSection(Strict):
    """``diffusion``: notebooks/04-diffusion.ipynb."""

    size: int = Field(gt=0)
    classifier: str
    model: DiffusionModel
    train: DiffusionTrain
    ddim_steps: int = Field(gt=0)
    edit_strength: float = Field(gt=0, le=1)
    guidance: float = Field(ge=0)
    roundtrip_steps: list[int] = Field(min_length=1)
    n_roundtrip: int = Field(gt=0)
    baseline_samples: str
    regressor: DiffusionRegressor
    augment: DiffusionAugment
    jitter: Jitter
    n_boot: int = Field(gt=0)
    threads: int = Field(1, gt=0)
    seed: int = 0


SECTIONS: dict[str, type[BaseModel]] = {
    "paths": PathsSection,
    "superpixels": Superpixels,
    "data": DataSection,
    "gnn": GnnSection,
    "bioclim": BioclimSection,
    "diffusion": DiffusionSection,
    "temporal": TemporalSection,
    "translate": TranslateSection,
    "uncertainty": UncertaintySection,
    "maps": MapsSection,
    "continental": ContinentalSection,
    "multitask": MultitaskSection,
}
"""Every section ``params.yaml`` may hold, with its schema."""


class ParamsError(ValueError):
    """A parameter file or override that does not match the schema."""


def _where(section: str, loc: tuple[int | str, ...]) -> str:
    """Return the dotted path of a key, e.g. ``gnn.fit.epochs``."""
    return ".".join([section, *(str(p) for p in loc)])


def validate_section(section: str, values: dict[str, Any], source: str) -> BaseModel:
    """Validate one section and return its typed object.

    Args:
        section: the section's name (a key of :data:`SECTIONS`).
        values: the section's merged values.
        source: where the values came from (a file, for the error message).

    Returns:
        The section as its typed model.

    Raises:
        ParamsError: naming an unknown section, an unknown key (with the section it is in
            and the keys allowed there), a missing key or a value of the wrong type.
    """
    if section not in SECTIONS:
        raise ParamsError(
            f"{source}: unknown section {section!r}; known sections: {sorted(SECTIONS)}"
        )
    schema = SECTIONS[section]
    try:
        return schema.model_validate(values)
    except ValidationError as err:
        messages = []
        for e in err.errors():
            loc = tuple(e["loc"])
            parent, key = _where(section, loc[:-1]), str(loc[-1]) if loc else section
            if e["type"] == "extra_forbidden":
                allowed = _allowed(schema, loc[:-1])
                messages.append(
                    f"unknown key {key!r} in section {parent!r}"
                    + (f" (allowed: {', '.join(allowed)})" if allowed else "")
                )
            elif e["type"] == "missing":
                messages.append(f"missing key {key!r} in section {parent!r}")
            else:
                messages.append(f"{_where(section, loc)} = {e.get('input')!r}: {e['msg']}")
        raise ParamsError(f"{source}: " + "; ".join(messages)) from None


def _allowed(schema: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Return the keys a nested block of ``schema`` allows (empty when not a fixed block)."""
    model: Any = schema
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        model = _model_of(field.annotation)
    if isinstance(model, type) and issubclass(model, Strict):
        return sorted(model.model_fields)
    return []


def _model_of(annotation: Any) -> Any:
    """Return the pydantic model inside an annotation such as ``Fit | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def validate(params: dict[str, Any], source: str) -> dict[str, BaseModel]:
    """Validate every section of a merged parameter file.

    Args:
        params: the whole file, ``smoke`` removed.
        source: where it came from, for error messages.

    Returns:
        Each section's typed object.

    Raises:
        ParamsError: see :func:`validate_section`.
    """
    return {name: validate_section(name, values or {}, source) for name, values in params.items()}
