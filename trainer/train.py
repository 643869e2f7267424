"""``rechroma-train``: pix2pix training of the colorizer, in two phases by step count.

``pretrain`` optimises L1 only (a solid, slightly desaturated colorizer), then ``gan`` adds the PatchGAN
loss for a short while to bring back colour. Runs on CUDA with mixed precision when available, else on all
CPU cores. Safe to stop at any time: SIGTERM/SIGINT and ``--max-minutes`` save ``last.pt`` and exit, and
``--resume`` continues with exactly the batches an uninterrupted run would have seen.

Under ``torchrun`` the same command trains data-parallel (DDP) on N processes: one per GPU with NCCL, or
CPU processes with gloo; rank 0 alone logs, validates, samples and checkpoints (see trainer.distributed
for the batch and learning-rate scale).

Usage::

    rechroma-train --config trainer/configs/rechroma-v1.toml --out work/runs/v1 --resume --max-minutes 50
    rechroma-train --data my-photos/ --init resources/models/rechroma-v2.onnx --minutes 30   (trainer.finetune)
    torchrun --nproc_per_node 4 -m trainer.train --config trainer/configs/rechroma-v2.toml --out work/runs/v3
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from trainer import distributed, finetune, report
from trainer.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from trainer.dataset import DataError, PhotoSource, TrainCrops, ValCrops, batch_ab, open_source, train_loader
from trainer.distributed import SINGLE, DistInfo, ShardedStepBatchSampler
from trainer.losses import PerceptualLoss, d_loss, de00_loss, g_gan_loss, l1_loss
from trainer.networks import PatchDiscriminator, UNetGenerator
from trainer.options import Options, add_option_flags, option_differences, options_from_args

PRETRAIN, GAN = "pretrain", "gan"
#: Time budget calibration: steps skipped while workers and cuDNN warm up, then steps timed.
CALIBRATION_SKIP, CALIBRATION_STEPS = 30, 60
#: A GAN step also runs the discriminator three times: its cost relative to a pretrain step, for the budget.
GAN_STEP_COST = 1.4
BETAS = {PRETRAIN: (0.9, 0.999), GAN: (0.5, 0.999)}
CSV_FIELDS = ("step", "phase", "name", "value")


def build_generator(opts: Options, pretrained: bool | None = None) -> UNetGenerator:
    return UNetGenerator(
        pretrained=opts.pretrained if pretrained is None else pretrained,
        encoder_weights=opts.encoder_weights,
        decoder_channels=opts.decoder_channels,
        decoder_convs=opts.decoder_convs,
        decoder_norm=opts.decoder_norm,
        output_scale=opts.output_scale,
        freeze_encoder_stages=opts.freeze_encoder_stages,
        freeze_norm=opts.freeze_norm,
    )


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' asked for but torch sees no CUDA GPU")
    return torch.device("cuda" if name != "cpu" and torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """Models, optimisers and the step logic; :meth:`fit` adds the loop, logging and checkpoints."""

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

                load_onnx_weights(generator, opts.init_model)
        self.G = generator.to(self.device)
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
        self.step = 0
        self.best: float | None = None
        self.data_summary: dict = {}
        self._mid_step = False
        self.G.train()
        self.D.train()

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
            fake = self.G_step(lum)
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

    # -- validation -------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, lum: torch.Tensor, batch_size: int = 16) -> np.ndarray:
        self.G.eval()
        try:
            parts = []
            for i in range(0, len(lum), batch_size):
                with self._autocast():
                    x = lum[i : i + batch_size].to(self.device, memory_format=self.memory_format)
                    parts.append(self.G(x).float().cpu())
            return torch.cat(parts).numpy()
        finally:
            self.G.train()

    def validate(self, val: ValCrops) -> dict[str, float]:
        """val_l1 on ab_norm, plus trainer.metrics.val_scores (CIEDE2000, ...) on the sRGB crops."""
        items = [val[k] for k in range(len(val))]
        lum = torch.stack([it["l"] for it in items])
        true_ab = torch.stack([it["ab"] for it in items]).numpy()
        pred_ab = self.predict(lum)
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
        return report.sample_grid(lum.numpy(), self.predict(lum), true_ab)

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
        set_rng_state(state["rng"])

    def save(self, path: Path) -> Path:
        return save_checkpoint(path, self.state_dict())

    # -- the loop ---------------------------------------------------------------------------------------
    def fit(self, source: PhotoSource, out: Path, until_step: int | None = None) -> int:
        """Train from ``self.step`` to ``until_step`` (default: the end), logging under ``out``.

        Returns the step reached; stops early (after saving) on SIGTERM/SIGINT or ``max_minutes``. Under
        DDP every rank runs this loop; only rank 0 validates and writes anything.
        """
        o, main = self.opts, self.dist.is_main
        end = min(o.total_steps, until_step if until_step is not None else o.total_steps)
        self.data_summary = source.summary()
        train = TrainCrops(source, o, target_on_device=self.device.type == "cuda")
        val = ValCrops(source, o.crop_size, o.val_limit) if main else None
        if main:
            out.mkdir(parents=True, exist_ok=True)
            if len(val) == 0:
                tqdm.write("warning: no validation photos; best.pt will not be written")
        metrics = MetricsLog(out / "metrics.csv", resume_step=self.step) if main else None
        stop = StopFlag(o.max_minutes)
        budget = BudgetCalibration(self.step, o.time_budget_minutes) if o.time_budget_minutes > 0 else None
        # Under a budget the end is only known after calibration; the sampler is per-step, so any end works.
        loader_end = self.step + 10**7 if budget else end
        sampler = None
        if self.dist.enabled:
            sampler = ShardedStepBatchSampler(train.weights(), o.batch_size, o.seed, self.step, loader_end,
                                              self.dist.rank, self.dist.world_size)
        loader = train_loader(train, o, self.step, loader_end, pin_memory=self.device.type == "cuda",
                              batch_sampler=sampler)
        bar = tqdm(total=end, initial=self.step, unit="step", dynamic_ncols=True, smoothing=0.05, disable=not main)
        running: dict[str, list[float]] = {}
        tick = time.perf_counter()
        completed = False
        try:
            for batch in loader:
                losses = self.train_step(batch)
                phase = self.phase(self.step - 1)
                for k, v in losses.items():
                    running.setdefault(k, []).append(v)
                bar.update(1)
                if main and (self.step % o.log_every == 0 or self.step == end):
                    now = time.perf_counter()
                    means = {k: float(np.mean(v)) for k, v in running.items()}
                    crops = len(running["loss_l1"]) * o.batch_size * self.dist.world_size
                    means["crops_per_s"] = crops / max(now - tick, 1e-9)
                    means["lr"] = self.learning_rate(self.step - 1)
                    metrics.write(self.step, phase, means)
                    bar.set_postfix({k.replace("loss_", ""): f"{v:.4g}" for k, v in means.items()}, refresh=False)
                    running, tick = {}, now
                if budget and budget.ready(self.step):
                    end = self._fit_to_budget(budget, val, out, metrics)
                    bar.total = end
                    bar.refresh()
                if main:
                    self._periodic(val, out, metrics, phase, end)
                if distributed.any_rank(self.dist, stop.requested()):
                    if main:
                        tqdm.write(f"stopping at step {self.step}: {stop.reason or 'another process stopped'}")
                    break
                if self.step >= end:
                    break
            completed = True
        finally:
            bar.close()
            stop.restore()
            if main and not self._mid_step:
                self.save(out / "last.pt")
            if main:
                metrics.close()
                report.loss_plot(out / "metrics.csv", out / "losses.png")
        if completed and self.dist.enabled:
            self._check_replicas_agree()
        return self.step

    def _check_replicas_agree(self) -> None:
        """DDP keeps the replicas identical by construction; a cheap check at the end catches a broken
        setup (say, a module updated outside DDP) before anyone trusts rank 0's checkpoint."""
        digests = distributed.gather_objects(self.dist, distributed.parameter_digest(self.G))
        if any(d != digests[0] for d in digests):
            raise RuntimeError("generator weights differ between processes: the DDP replicas went out of sync")

    def _fit_to_budget(self, budget: BudgetCalibration, val: ValCrops, out: Path, metrics: MetricsLog) -> int:
        """Rescale both phases' step counts (keeping their ratio) so the rest of the run fits the budget."""
        o = self.opts
        sec_per_step = budget.seconds_per_step(self.step)
        schedule = None
        if self.dist.is_main:  # rank 0 times a validation and decides; the other ranks take its schedule
            tick = time.perf_counter()
            if len(val):
                metrics.write(self.step, self.phase(), self.validate(val))  # a real val, timed for the estimate
            sec_per_val = time.perf_counter() - tick
            schedule = fit_schedule_to_budget(
                o.pretrain_steps, o.gan_steps, self.step, sec_per_step, sec_per_val, o.val_every,
                budget.seconds_left(),
            )
        o.pretrain_steps, o.gan_steps = distributed.broadcast(self.dist, schedule)
        o.time_budget_minutes = 0.0  # resolved: checkpoints and options.json now hold plain step counts
        if self.dist.is_main:
            write_options(out, o)
            tqdm.write(
                f"time budget: {sec_per_step * 1000:.0f} ms/step, {sec_per_val:.1f} s/val -> "
                f"pretrain_steps={o.pretrain_steps} gan_steps={o.gan_steps}"
            )
        return o.total_steps

    def _periodic(self, val: ValCrops, out: Path, metrics: MetricsLog, phase: str, end: int) -> None:
        o, step = self.opts, self.step
        phase_end = step == o.pretrain_steps or step == o.total_steps
        if len(val) and (step % o.val_every == 0 or phase_end or step == end):
            scores = self.validate(val)
            metrics.write(step, phase, scores)
            tqdm.write(f"step {step} {phase} " + " ".join(f"{k}={v:.4g}" for k, v in scores.items()))
            competes = o.best_from_phase == "any" or phase == GAN or o.gan_steps == 0
            value = scores.get(o.best_metric)
            if value is None:
                tqdm.write(f"warning: best_metric {o.best_metric!r} not among {sorted(scores)}")
            elif competes and (
                self.best is None or (value < self.best if o.best_lower_is_better else value > self.best)
            ):
                self.best = value
                self.save(out / "best.pt")
                tqdm.write(f"new best {o.best_metric}={value:.4g} at step {step} -> best.pt")
        if len(val) and (step % o.sample_every == 0 or phase_end):
            report.write_png(out / "samples" / f"step_{step:07d}.png", self.sample_grid(val))
            report.loss_plot(out / "metrics.csv", out / "losses.png")
        if step % o.checkpoint_every == 0:
            self.save(out / "last.pt")
        if step == o.pretrain_steps and o.gan_steps:
            self.save(out / "pretrain.pt")  # the pure-L1 model, a fallback if the GAN phase goes wrong


def fit_schedule_to_budget(
    pretrain_steps: int,
    gan_steps: int,
    step: int,
    sec_per_step: float,
    sec_per_val: float,
    val_every: int,
    seconds_left: float,
    gan_step_cost: float = GAN_STEP_COST,
) -> tuple[int, int]:
    """Step counts ``(pretrain, gan)`` in the configured ratio whose remaining steps and validations take
    ``seconds_left``: the configured counts say the recipe's shape, the hardware decides its length."""
    if seconds_left <= 0:  # the budget went on start-up: stop after the next step
        return step + 1, 0
    if sec_per_step <= 0:
        return max(pretrain_steps, step), gan_steps
    per_scale = (
        pretrain_steps * sec_per_step
        + gan_steps * sec_per_step * gan_step_cost
        + (pretrain_steps + gan_steps) * sec_per_val / val_every
    )
    scale = (seconds_left + step * sec_per_step) / per_scale
    return max(step + 1, round(pretrain_steps * scale)), round(gan_steps * scale)


class BudgetCalibration:
    """Times ``CALIBRATION_STEPS`` training steps once the warm-up steps are done."""

    def __init__(self, start_step: int, minutes: float) -> None:
        self.deadline = time.monotonic() + minutes * 60
        self.first = start_step + CALIBRATION_SKIP
        self.last = self.first + CALIBRATION_STEPS
        self.tick: float | None = None
        self.done = False

    def ready(self, step: int) -> bool:
        if step == self.first:
            self.tick = time.perf_counter()
        return not self.done and step >= self.last and self.tick is not None

    def seconds_per_step(self, step: int) -> float:
        self.done = True
        return (time.perf_counter() - self.tick) / max(1, step - self.first)

    def seconds_left(self) -> float:
        return (self.deadline - time.monotonic()) * 0.97  # a margin for the final save and sample grid


def write_options(out: Path, opts: Options) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "options.json").write_text(json.dumps(opts.to_dict(), indent=2) + "\n", encoding="utf-8")


class MetricsLog:
    """metrics.csv in long format (step, phase, name, value): new metrics never break the header, and a
    resumed run first drops rows logged after its checkpoint's step."""

    def __init__(self, path: Path, resume_step: int) -> None:
        rows = []
        if path.exists():
            with path.open(newline="", encoding="utf-8") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
        self.fh = path.open("w", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.fh, CSV_FIELDS)
        self.writer.writeheader()
        self.writer.writerows(rows)
        self.fh.flush()

    def write(self, step: int, phase: str, values: dict[str, float]) -> None:
        for name, value in values.items():
            self.writer.writerow({"step": step, "phase": phase, "name": name, "value": f"{value:.6g}"})
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


class StopFlag:
    """Turns SIGTERM/SIGINT and the wall-clock budget into a clean stop after the current step."""

    def __init__(self, max_minutes: float) -> None:
        self.deadline = time.monotonic() + max_minutes * 60 if max_minutes > 0 else None
        self.reason = ""
        self._previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. under a test runner's thread)
                pass

    def _handle(self, signum, _frame) -> None:
        self.reason = f"received {signal.Signals(signum).name}, saving"
        signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))  # a second signal acts at once

    def requested(self) -> bool:
        if not self.reason and self.deadline is not None and time.monotonic() > self.deadline:
            self.reason = "max_minutes reached, saving"
        return bool(self.reason)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rechroma-train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="TOML or JSON config (see trainer/configs/)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt if it exists")
    finetune.add_arguments(parser)
    add_option_flags(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run(argv)[0]


def run(argv: list[str] | None = None) -> tuple[int, Trainer | None]:
    """``main`` that also hands back the trainer (tests look at each DDP rank's weights)."""
    args = parse_args(argv)
    if args.init is not None:
        return finetune.run(args), None
    try:
        opts = options_from_args(args, args.config)
    except (OSError, ValueError) as exc:
        print(f"rechroma-train: {exc}", file=sys.stderr)
        return 2, None
    out = Path(opts.out)
    last = out / "last.pt"
    if last.exists() and not args.resume:
        print(f"rechroma-train: {last} exists; pass --resume to continue it or choose another --out",
              file=sys.stderr)
        return 2, None
    try:
        dist = distributed.init_from_env(opts.device)
    except (RuntimeError, ValueError) as exc:
        print(f"rechroma-train: {exc}", file=sys.stderr)
        return 2, None
    try:
        return _train(args, opts, dist, out, last)
    finally:
        distributed.shutdown(dist)


def _train(args: argparse.Namespace, opts: Options, dist: DistInfo, out: Path, last: Path
           ) -> tuple[int, Trainer | None]:
    def say(message: str) -> None:
        if dist.is_main:
            print(message, file=sys.stderr)

    try:
        source = open_source(opts.data, opts.folder_val_fraction)
        device = configure_runtime(opts, dist)
        trainer = Trainer(opts, device, dist)
        if args.resume and last.exists():
            # Load on the CPU: RNG states must stay CPU tensors; load_state_dict moves weights to the device.
            state = load_checkpoint(last, map_location="cpu")
            changed = option_differences(Options(**_as_options(state["options"])), opts)
            if changed:
                say(f"note: options changed since the checkpoint: {changed}")
            trainer.load_state_dict(state)
            saved_world = int(state.get("sampler", {}).get("world_size", 1))
            say(f"resuming {last} at step {trainer.step} ({trainer.phase()})")
            if saved_world != dist.world_size:
                say(f"note: the checkpoint was written by {saved_world} process(es), this run has "
                    f"{dist.world_size}: the global batch is now {opts.batch_size * dist.world_size}")
        elif args.resume:
            say(f"no {last} yet: starting a new run")
    except (DataError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"rechroma-train: {exc}", file=sys.stderr)
        return 2, None
    if dist.is_main:
        write_options(out, opts)
    say(f"data: {source.summary()}\ndevice: {device}, threads {torch.get_num_threads()}, amp {trainer.amp}")
    if dist.enabled:
        say(f"distributed: {dist.world_size} processes ({dist.backend}), batch {opts.batch_size} per process = "
            f"{opts.batch_size * dist.world_size} crops a step; learning rates x{trainer.lr_mult:.3g} "
            f"(lr_scaling {opts.lr_scaling})")
    step = trainer.fit(source, out)
    done = step >= opts.total_steps
    say(f"{'finished' if done else 'paused'} at step {step}/{opts.total_steps}; checkpoints in {out}")
    return 0, trainer


def _as_options(values: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


if __name__ == "__main__":
    sys.exit(main())
