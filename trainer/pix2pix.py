"""The pix2pix model being trained: generator and PatchGAN discriminator, their losses and optimisers, one step.

``Trainer.train_step`` is one optimisation step of the current phase (``pretrain``: L1 and friends;
``gan``: adds the adversarial loss); validation, sampling and checkpoint state live here too. The loop,
logging and stopping are in trainer.loop; the command line in trainer.train.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from trainer import distributed, report
from trainer.checkpoint import rng_state, save_checkpoint, set_rng_state
from trainer.colour_bins import bin_histogram, classification_loss, rebalancing_weights
from trainer.dataset import TRAIN, PhotoSource, ValCrops, batch_ab
from trainer.distributed import SINGLE, DistInfo
from trainer.losses import PerceptualLoss, d_loss, de00_loss, g_gan_loss, l1_loss
from trainer.networks import PatchDiscriminator, UNetGenerator, build_generator
from trainer.options import Options

PRETRAIN, GAN = "pretrain", "gan"
BETAS = {PRETRAIN: (0.9, 0.999), GAN: (0.5, 0.999)}


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' asked for but torch sees no CUDA GPU")
    return torch.device("cuda" if name != "cpu" and torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """Models, losses, optimisers and one step; :meth:`fit` hands it to the loop (trainer.loop)."""

    def __init__(self, opts: Options, device: torch.device | str = "cpu", dist: DistInfo = SINGLE,
                 generator: UNetGenerator | None = None) -> None:
        """``generator`` replaces the one the options describe (fine-tuning starts from a shipped model)."""
        self.opts = opts
        self.device = torch.device(device)
        self.dist = dist
        #: Learning-rate multiplier for the global batch of world_size x batch_size (trainer.distributed).
        self.lr_mult = distributed.lr_scale(opts.lr_scaling, dist.world_size)
        seed_everything(opts.seed)
        if generator is None:
            generator = build_generator(opts)
            if opts.init_model:
                from trainer.onnx_import import load_onnx_weights

                # A hint-taking generator starts from the automatic model it refines (its trunk).
                load_onnx_weights(getattr(generator, "trunk", generator), opts.init_model, opts.cls_warm_start_sigma)
        self.G = generator.to(self.device)
        self.G.with_logits = True  # training steps get (ab, logits): the classification loss needs the logits
        self.D = PatchDiscriminator(base_channels=opts.disc_channels).to(self.device)
        groups = [
            {"params": self.G.encoder_parameters(), "lr_mult": opts.encoder_lr_mult},
            {"params": self.G.decoder_parameters(), "lr_mult": 1.0},
        ]
        self.opt_G = torch.optim.Adam([g for g in groups if g["params"]], lr=opts.lr, betas=BETAS[PRETRAIN])
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=opts.lr_d * self.lr_mult, betas=BETAS[GAN])
        self.memory_format = torch.channels_last if opts.channels_last else torch.contiguous_format
        self.G.to(memory_format=self.memory_format)
        self.D.to(memory_format=self.memory_format)
        # The training forward passes go through DDP wrappers (gradients all-reduced in backward); saving,
        # validation and the G step's pass through a frozen D use the plain modules.
        self.G_step: torch.nn.Module = self.G
        self.D_step: torch.nn.Module = self.D
        if dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G_step = DistributedDataParallel(self.G, device_ids=ids)
            self.D_step = DistributedDataParallel(self.D, device_ids=ids)
        self.amp = opts.amp and self.device.type == "cuda"
        # bf16 has fp32's range: no loss scaling, and no overflow where CIEDE2000 raises chroma to the 7th power.
        self.amp_dtype = torch.bfloat16 if self.amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)
        self.perceptual = (
            PerceptualLoss(opts.encoder_weights).to(self.device) if opts.lambda_perceptual > 0 else None
        )
        #: Classification head only: per-bin loss weights from the training photos (:meth:`prepare`).
        self.class_weights: torch.Tensor | None = None
        self.step = 0
        self.best: float | None = None
        self.data_summary: dict = {}
        self._mid_step = False
        self.G.train()
        self.D.train()

    @property
    def classifies(self) -> bool:
        return self.G.colour_head == "classification"

    def prepare(self, source: PhotoSource, max_photos: int = 2000) -> None:
        """Class-rebalancing weights from the training photos' a*b* bins (classification head; once a run:
        a resumed run loads them from its checkpoint)."""
        if not self.classifies or self.class_weights is not None:
            return
        train = source.indices(TRAIN)
        if len(train) > max_photos:
            train = np.random.default_rng(self.opts.seed).choice(train, max_photos, replace=False)
        centres = self.G.bin_centres.cpu().numpy()
        distribution = bin_histogram((source.load(int(i)) for i in train), centres,
                                     [float(source.weight[i]) for i in train])
        weights = rebalancing_weights(distribution, centres, self.opts.rebalance_sigma, self.opts.rebalance_mix)
        self.class_weights = torch.from_numpy(weights).to(self.device)

    # -- schedule ---------------------------------------------------------------------------------------
    def phase(self, step: int | None = None) -> str:
        return PRETRAIN if (self.step if step is None else step) < self.opts.pretrain_steps else GAN

    def learning_rate(self, step: int) -> float:
        """Warm-up at the start, then constant, then a linear decay over each phase's last part."""
        o = self.opts
        if self.phase(step) == PRETRAIN:
            base, local, length = o.lr, step, o.pretrain_steps
            warm = min(1.0, (step + 1) / o.warmup_steps) if o.warmup_steps else 1.0
        else:
            base, local, length, warm = o.lr_gan, step - o.pretrain_steps, o.gan_steps, 1.0
        decay_start = length * (1.0 - o.decay_fraction)
        if local >= decay_start and length > decay_start:
            t = (local - decay_start) / (length - decay_start)
            warm *= 1.0 + t * (o.lr_final_mult - 1.0)
        return base * warm * self.lr_mult

    def _set_optimiser_params(self, step: int) -> None:
        lr, betas = self.learning_rate(step), BETAS[self.phase(step)]
        for group in self.opt_G.param_groups:
            group["lr"], group["betas"] = lr * group["lr_mult"], betas

    # -- one step ---------------------------------------------------------------------------------------
    def _autocast(self):
        return torch.autocast("cuda", dtype=self.amp_dtype, enabled=self.amp)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One optimisation step on ``batch`` ({'l': [N,1,H,W]} and 'rgb': uint8 [N,3,H,W] or 'ab': [N,2,H,W]);
        returns its losses."""
        o = self.opts
        self._mid_step = True  # a crash inside a step must not be saved as a consistent checkpoint
        nb = self.device.type == "cuda"
        lum = batch["l"].to(self.device, non_blocking=nb, memory_format=self.memory_format)
        # A TrainCrops batch brings the crops' RGB: the ab target is computed here, on the training device.
        ab = batch_ab(batch, self.device).contiguous(memory_format=self.memory_format)
        phase = self.phase()
        self._set_optimiser_params(self.step)
        out: dict[str, float] = {}
        with self._autocast():
            result = self.G_step(lum, *self._hint_args(batch))
            # The automatic generator gives (ab, logits) in training; the hint-taking one gives ab.
            fake, logits = result if isinstance(result, tuple) else (result, None)
        if phase == GAN:
            self.D.requires_grad_(True)
            with self._autocast():
                loss_d = d_loss(o.gan_loss, self.D_step(lum, ab), self.D_step(lum, fake.detach()))
            self.opt_D.zero_grad(set_to_none=True)
            self.scaler.scale(loss_d).backward()
            self.scaler.step(self.opt_D)
            out["loss_d"] = loss_d.item()
            self.D.requires_grad_(False)
        # The colour losses run in fp32 outside autocast: CIEDE2000's powers and atan2 are not half-safe.
        fake32 = fake.float()
        loss_l1 = l1_loss(fake32, ab)
        total = o.lambda_l1 * loss_l1
        if o.lambda_de00 > 0:
            # L* is shared, so only chroma and hue count (the degraded input L changes nothing here).
            loss_de = de00_loss(lum, fake32, ab)
            total = total + o.lambda_de00 * loss_de
            out["loss_de00"] = loss_de.item()
        if logits is not None:
            bins = self.G.bin_centres
            loss_cls = classification_loss(logits, ab, bins, self.class_weights, o.cls_neighbours, o.cls_sigma)
            total = total + o.lambda_cls * loss_cls
            out["loss_cls"] = loss_cls.item()
        with self._autocast():
            if self.perceptual is not None:
                loss_p = self.perceptual(lum, fake, ab)
                total = total + o.lambda_perceptual * loss_p
                out["loss_perceptual"] = loss_p.item()
            if phase == GAN:
                loss_gan = g_gan_loss(o.gan_loss, self.D(lum, fake))
                total = total + o.lambda_gan * loss_gan
                out["loss_g_gan"] = loss_gan.item()
        self.opt_G.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.opt_G)
        self.scaler.update()
        self.step += 1
        out["loss_l1"] = loss_l1.item()
        self._mid_step = False
        return out

    def _hint_args(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """The generator's inputs besides L: the hint planes, for a hint-taking generator (opts.hint_inputs)."""
        if not self.opts.hint_inputs:
            return ()
        nb = self.device.type == "cuda"
        return (batch["hints"].to(self.device, non_blocking=nb, memory_format=self.memory_format),)

    # -- validation -------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, lum: torch.Tensor, batch_size: int = 16, hints: torch.Tensor | None = None) -> np.ndarray:
        self.G.eval()
        try:
            parts = []
            for i in range(0, len(lum), batch_size):
                with self._autocast():
                    x = lum[i : i + batch_size].to(self.device, memory_format=self.memory_format)
                    extra = () if hints is None else self._hint_args({"hints": hints[i : i + batch_size]})
                    parts.append(self.G(x, *extra).float().cpu())
            return torch.cat(parts).numpy()
        finally:
            self.G.train()

    def validate(self, val: ValCrops) -> dict[str, float]:
        """val_l1 on ab_norm, plus trainer.metrics.val_scores (CIEDE2000, ...) on the sRGB crops."""
        items = [val[k] for k in range(len(val))]
        lum = torch.stack([it["l"] for it in items])
        true_ab = torch.stack([it["ab"] for it in items]).numpy()
        pred_ab = self.predict(lum, hints=_stacked_hints(items))
        scores = {"val_l1": float(np.abs(pred_ab - true_ab).mean())}
        try:
            from trainer.metrics import val_scores
        except ImportError as exc:  # metrics need scikit-image (train extra); L1 still picks checkpoints
            tqdm.write(f"trainer.metrics unavailable ({exc}); validating with L1 only")
            return scores
        lum_np = lum.numpy()
        pred_rgb = report.batch_to_rgb(lum_np, pred_ab)
        true_rgb = report.batch_to_rgb(lum_np, true_ab)
        scores.update({f"val_{k}": float(v) for k, v in val_scores(pred_rgb, true_rgb).items()})
        return scores

    def sample_grid(self, val: ValCrops) -> np.ndarray:
        items = [val[k] for k in range(min(self.opts.sample_count, len(val)))]
        lum = torch.stack([it["l"] for it in items])
        true_ab = torch.stack([it["ab"] for it in items]).numpy()
        return report.sample_grid(lum.numpy(), self.predict(lum, hints=_stacked_hints(items)), true_ab)

    # -- state ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "format": "rechroma-train-1",
            "step": self.step,
            "phase": self.phase(),
            "options": self.opts.to_dict(),
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_state(),
            # Batches are a function of (seed, step) only (WeightedStepBatchSampler), so this is all it needs;
            # the world size is informative (a resume may use another one).
            "sampler": {"seed": self.opts.seed, "next_step": self.step, "world_size": self.dist.world_size},
            "best": self.best,
            "data_summary": self.data_summary,
            **({"class_weights": self.class_weights.cpu()} if self.class_weights is not None else {}),
        }

    def load_state_dict(self, state: dict) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        for group in self.opt_D.param_groups:  # the saved lr may be for another world size
            group["lr"] = self.opts.lr_d * self.lr_mult
        self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.best = state.get("best")
        self.data_summary = state.get("data_summary") or {}
        if state.get("class_weights") is not None:
            self.class_weights = state["class_weights"].to(self.device)
        set_rng_state(state["rng"])

    def save(self, path: Path) -> Path:
        return save_checkpoint(path, self.state_dict())

    def fit(self, source: PhotoSource, out: Path, until_step: int | None = None) -> int:
        """Train to ``until_step`` (default: the end) under ``out``; the loop is :func:`trainer.loop.fit`."""
        from trainer.loop import fit

        return fit(self, source, out, until_step)


def _stacked_hints(items: list[dict[str, torch.Tensor]]) -> torch.Tensor | None:
    return torch.stack([it["hints"] for it in items]) if items and "hints" in items[0] else None


def configure_runtime(opts: Options, dist: DistInfo = SINGLE) -> torch.device:
    device = distributed.device_for(dist, pick_device(opts.device))
    if device.type == "cpu":
        # CPU processes on one node share its cores.
        torch.set_num_threads(opts.threads or max(1, (os.cpu_count() or 1) // dist.local_world_size))
    else:
        # Autotuning cost 39 s before the first step on an H100 and gained nothing after it (56 vs 57 ms a
        # step at batch 64 x 256 px; tools/gpu_probe.py): a poor trade for runs lent minutes of device time.
        torch.backends.cudnn.benchmark = False
    return device
