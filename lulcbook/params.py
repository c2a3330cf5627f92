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

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
)

Share = Annotated[float, Field(gt=0, lt=1)]
"""A share strictly between 0 and 1."""
ShareUpToOne = Annotated[float, Field(gt=0, le=1)]
"""A share in (0, 1]."""
Rate = Annotated[float, Field(ge=0, lt=1)]
"""A rate in [0, 1): dropout, label smoothing, drop probabilities."""
Seeds = Annotated[list[int], Field(min_length=1)]
"""One or more random seeds."""
GraphModelClass = Literal["GraphUNet", "GNN"]
"""The graph model classes of :mod:`lulcbook.models.gnn`."""
ClimateVariant = Literal["no_climate", "climate_input", "climate_norm"]
"""How a model sees the climate (:mod:`lulcbook.models.condnorm`)."""


class Strict(BaseModel):
    """A block of parameters: unknown keys are rejected, values are type-checked."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


# --------------------------------------------------------------------------- shared blocks
class Superpixels(Strict):
    """Superpixel segmentation (:func:`lulcbook.graphs.segment`), shared by every graph stage."""

    method: Literal["slic", "felzenszwalb"] = "slic"
    segment_size: PositiveFloat = 48.0
    compactness: PositiveFloat = 0.05
    sigma: NonNegativeFloat = 0.0


class Optimiser(Strict):
    """Epochs, learning rate, weight decay and batch size of a training loop."""

    epochs: PositiveInt
    lr: PositiveFloat
    weight_decay: NonNegativeFloat = 0.0
    batch_size: PositiveInt


class Fit(Optimiser):
    """Optimiser settings of :func:`lulcbook.train.fit_gnn` and friends."""

    patience: PositiveInt | None = None
    crop: PositiveInt | None = None


class Network(Optimiser):
    """A small network's width, depth and dropout, with its optimiser settings."""

    hidden: PositiveInt
    depth: PositiveInt
    dropout: Rate = 0.0


class SceneTiling(Strict):
    """How the Brandenburg scene is tiled in memory."""

    tile_size: PositiveInt
    overlap: NonNegativeInt
    max_size: PositiveInt | None = None


# --------------------------------------------------------------------------- sections
class PathsSection(Strict):
    """``paths``: where the offline sample lives."""

    sample: str


class DataSection(Strict):
    """``data``: notebooks/01-data.ipynb."""

    bands: list[str] = Field(min_length=1)
    max_patches_per_class: PositiveInt | None = None
    climate_source: Literal["wc21_europe", "wc14_mosaic"] = "wc21_europe"
    climate_fill_km: NonNegativeFloat = 25.0
    val_fraction: Share = 0.2
    seed: int = 0


class GraphModel(Strict):
    """One graph model of the comparison in 02-gnn."""

    cls: GraphModelClass
    model: dict[str, Any]
    semi: bool = False


class Semi(Strict):
    """FixMatch-style consistency on unlabelled nodes."""

    weight: NonNegativeFloat
    threshold: ShareUpToOne
    noise: NonNegativeFloat
    feature_drop: Rate
    edge_drop: Rate
    warmup: NonNegativeInt


class Cnn(Strict):
    """The pixel CNN baseline."""

    model: dict[str, Any]
    fit: Fit


class Rf(Strict):
    """The random-forest baseline on the labelled pixel's spectrum."""

    n_estimators: PositiveInt
    min_samples_leaf: PositiveInt = 1


class GnnSection(Strict):
    """``gnn``: notebooks/02-gnn.ipynb."""

    seed: int = 0
    seeds: Seeds
    threads: PositiveInt = 1
    n_jobs: PositiveInt = 1
    models: dict[str, GraphModel] = Field(min_length=1)
    fit: Fit
    semi: Semi
    cnn: Cnn
    rf: Rf
    final_model: str
    n_boot: PositiveInt
    scene: SceneTiling


class BioclimGnn(Network):
    """The Graph U-Net of 03-bioclim."""

    model: GraphModelClass


class BioclimCnn(Network):
    """The pixel CNN of 03-bioclim."""

    crop: PositiveInt


class BioclimSection(Strict):
    """``bioclim``: notebooks/03-bioclim.ipynb."""

    families: list[Literal["gnn", "cnn"]] = Field(min_length=1)
    variants: list[ClimateVariant] = Field(min_length=1)
    seeds: Seeds
    missing_indicator: bool = True
    shuffle_seed: int = 7
    n_jobs: PositiveInt = 1
    n_boot: PositiveInt
    boot_seed: int = 0
    gnn: BioclimGnn
    cnn: BioclimCnn


class TranslateSpectral(Network):
    """The per-pixel Landsat → Sentinel-2 MLP."""


class TranslateSpatial(Optimiser):
    """The 30 m → 10 m U-Net on simulated Landsat."""

    mtf_nyquist: Share
    factor: int = Field(gt=1)
    base: PositiveInt
    depth: PositiveInt
    crop: PositiveInt


class TranslateConsistency(Strict):
    """Land-cover consistency of translated patches."""

    max_patches: PositiveInt | None = None


class TranslateChips(Strict):
    """The real Landsat chips."""

    max_size: PositiveInt | None = None
    poppendorf_sun_elevation_deg: float = Field(gt=0, le=90)


class TranslateSection(Strict):
    """``translate``: notebooks/05-translate.ipynb."""

    satellite: Literal["S2A", "S2B"] = "S2A"
    seed: int = 0
    threads: PositiveInt = 1
    spectral: TranslateSpectral
    spatial: TranslateSpatial
    consistency: TranslateConsistency
    chips: TranslateChips


class UncertaintyModel(Strict):
    """The architecture of ``gnn.final_model``."""

    cls: GraphModelClass
    hidden: PositiveInt
    depth: PositiveInt
    dropout: Rate
    norm: str
    pool: str


class UncertaintySection(Strict):
    """``uncertainty``: notebooks/06-uncertainty.ipynb."""

    model: UncertaintyModel
    fit: Fit
    ensemble_members: int = Field(gt=1)
    mc_samples: PositiveInt
    n_bins: int = Field(gt=1)
    conformal_level: Share
    conformal_method: Literal["lac", "aps"] = "aps"
    scene_mc_samples: PositiveInt
    scene: SceneTiling
    area_n_per_stratum: PositiveInt
    area_repeats: PositiveInt
    seed: int = 0


class MapsSpectral(Strict):
    """The LUCAS-trained segment classifier of the maps."""

    epochs: PositiveInt
    copies: PositiveInt
    hidden: PositiveInt
    dropout: Rate
    segment_size: NonNegativeFloat
    compactness: PositiveFloat
    segmentation: Literal["grid", "slic"] = "grid"
    iterations: NonNegativeInt = 3
    seed: int = 0


class MapsCloud(Strict):
    """The L1C cloud and shadow mask (s2cloudless + shadow rule)."""

    threshold: Share
    factor: PositiveInt
    average_px: PositiveInt
    dilation_px: NonNegativeInt
    shadow_search_px: NonNegativeInt
    shadow_nir_max: PositiveFloat


class MapsClimateTransfer(Strict):
    """The nine-band map model with and without climate, zones and regions left out."""

    n_groups: int = Field(ge=2)
    seeds: PositiveInt
    n_train: PositiveInt | None = None


class MapsBaseline(Strict):
    """The shipped nine-band map model against plain gradient boosting on the band medians."""

    seeds: PositiveInt


class MapsSection(Strict):
    """``maps``: notebooks/07-maps.ipynb."""

    model: str
    tile_size: PositiveInt
    overlap: NonNegativeInt
    blocksize: PositiveInt
    mc_samples: NonNegativeInt
    workers: PositiveInt
    tiling_tile_sizes: list[PositiveInt]
    brandenburg_preset: str
    exeter_dates: PositiveInt | None = None
    brandenburg_rows: PositiveInt | None = None
    exeter_clear_max_masked: ShareUpToOne
    haze_max_false_alarm: Share
    lucas_max_points: PositiveInt | None = None
    spectral: MapsSpectral
    cloud: MapsCloud
    n_boot: PositiveInt
    area_n_per_stratum: PositiveInt
    seed: int = 0
    ship: str
    climate_transfer: MapsClimateTransfer
    baseline: MapsBaseline


class Gbm(Strict):
    """Histogram gradient boosting."""

    max_iter: PositiveInt
    learning_rate: PositiveFloat
    max_leaf_nodes: int = Field(gt=1)
    l2_regularization: NonNegativeFloat


class Mlp(Strict):
    """The point MLP (all keys optional: entries override the section's ``mlp``)."""

    hidden: list[int] | None = None
    dropout: Rate | None = None
    epochs: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    lr: PositiveFloat | None = None
    weight_decay: NonNegativeFloat | None = None
    label_smoothing: Rate | None = None
    class_weight: bool | None = None
    variant: ClimateVariant | None = None


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
    variants: list[ClimateVariant] = Field(min_length=1)
    region_kinds: list[Literal["zone", "region"]] = Field(min_length=1)
    seeds: Seeds
    n_train: PositiveInt
    shuffle_seed: int = 7
    mlp: Mlp


class ContinentalExport(Strict):
    """A shipped point model."""

    features: str
    seeds: Seeds
    mlp: Mlp
    reference: str


class ContinentalSection(Strict):
    """``continental``: notebooks/08-continental.ipynb."""

    seed: int = 0
    n_jobs: PositiveInt = 1
    max_points: PositiveInt | None = None
    climate_fill_km: NonNegativeFloat
    block_km: PositiveFloat
    n_folds: int = Field(gt=1)
    n_zones: int = Field(gt=1)
    n_regions: int = Field(gt=1)
    n_boot: PositiveInt
    boot_seed: int = 0
    gbm: Gbm
    mlp: Mlp
    models: dict[str, ContinentalModel] = Field(min_length=1)
    learning_curve: LearningCurve
    climate: ContinentalClimate
    export: dict[str, ContinentalExport]


class MultitaskTrain(Strict):
    """The multi-task network's training."""

    steps: PositiveInt
    batch: PositiveInt
    crop: PositiveInt
    width: PositiveInt
    depth: PositiveInt
    lr: PositiveFloat
    lai_scale: PositiveFloat


class MultitaskSection(Strict):
    """``multitask``: notebooks/09-multitask.ipynb."""

    seeds: Seeds
    n_boot: PositiveInt
    boot_seed: int = 0
    train: MultitaskTrain


class TemporalSlovenia(Strict):
    """The Slovenia comparison: simulated sparse points from the dense reference."""

    n_train: PositiveInt
    block: PositiveInt
    buffer: NonNegativeInt
    test_share: Share
    val_share: Share
    min_clear: ShareUpToOne
    epochs: PositiveInt


class TemporalSection(Strict):
    """``temporal``: notebooks/10-temporal.ipynb."""

    seeds: Seeds
    slovenia: TemporalSlovenia
    n_boot: PositiveInt
    map_model: str
    change_prior: Share
    prior_sweep: list[float] = Field(default_factory=list)
    period: Literal["date", "month", "season", "year"] = "month"
    map_block: PositiveInt
    clear_max_masked: ShareUpToOne
    haze_max_false_alarm: Share
    crop: PositiveInt | None = None
    products: list[str] = Field(default_factory=list)


class DiffusionModel(Strict):
    """The diffusion autoencoder's denoiser and semantic encoder."""

    base: PositiveInt
    mults: list[int] = Field(min_length=1)
    time_dim: PositiveInt
    semantic_dim: NonNegativeInt
    encoder_base: PositiveInt
    norm: str
    dropout: Rate = 0.0
    schedule: Literal["cosine", "linear"] = "cosine"
    timesteps: PositiveInt
    prediction: Literal["v", "eps"] = "v"
    ema_decay: Share


class DiffusionTrain(Strict):
    """Training of the diffusion autoencoder."""

    steps: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    cond_dropout: Rate
    flips: bool = True


class DiffusionRegressor(Strict):
    """The climate regressor on the continental LUCAS points."""

    bios: list[str] = Field(min_length=1)
    max_points: PositiveInt | None = None
    max_rows: PositiveInt | None = None
    max_iter: PositiveInt
    block_km: PositiveFloat


class DiffusionAugmentModel(Strict):
    """The graph classifier of the augmentation experiment."""

    name: GraphModelClass
    hidden: PositiveInt
    depth: PositiveInt
    dropout: Rate
    norm: str
    conv: str | None = None
    pool: str | None = None


class DiffusionAugment(Strict):
    """Leave-region-out augmentation experiment on the graph classifier."""

    graphs: Superpixels
    model: DiffusionAugmentModel
    fit: Optimiser
    seeds: Seeds


class Jitter(Strict):
    """Colour jitter of the control augmentation."""

    gain: NonNegativeFloat
    offset: NonNegativeFloat


class DiffusionSection(Strict):
    """``diffusion``: notebooks/04-diffusion.ipynb."""

    size: PositiveInt
    classifier: str
    model: DiffusionModel
    train: DiffusionTrain
    ddim_steps: PositiveInt
    edit_strength: ShareUpToOne
    guidance: NonNegativeFloat
    roundtrip_steps: list[int] = Field(min_length=1)
    n_roundtrip: PositiveInt
    baseline_samples: str
    regressor: DiffusionRegressor
    augment: DiffusionAugment
    jitter: Jitter
    n_boot: PositiveInt
    threads: PositiveInt = 1
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


MIRRORED: tuple[tuple[str, str], ...] = (
    ("maps.haze_max_false_alarm", "temporal.haze_max_false_alarm"),
)
"""Keys of two sections that must hold the same value (checked by :func:`validate`)."""


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
    sections = {
        name: validate_section(name, values or {}, source) for name, values in params.items()
    }
    for first, second in MIRRORED:
        values = {}
        for key in (first, second):
            section, _, field = key.partition(".")
            if section in sections:
                values[key] = getattr(sections[section], field)
        if len(set(values.values())) > 1:
            raise ParamsError(
                f"{source}: {first} and {second} must be equal (the same choice made in two "
                f"notebooks); got {values[first]} and {values[second]}"
            )
    return sections
