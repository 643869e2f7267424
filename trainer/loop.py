"""The training loop around a :class:`trainer.pix2pix.Trainer`: logging, validation, checkpoints, stopping.

``fit`` runs the steps; ``MetricsLog`` keeps metrics.csv, ``StopFlag`` turns signals and ``max_minutes`` into
a clean stop, and ``BudgetCalibration`` with ``fit_schedule_to_budget`` sizes a run to a time budget.
"""

from __future__ import annotations

import csv
import json
import signal
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from trainer import distributed, report
from trainer.dataset import PhotoSource, TrainCrops, ValCrops, train_loader
from trainer.distributed import ShardedStepBatchSampler
from trainer.options import Options
from trainer.pix2pix import GAN, Trainer

#: Time budget calibration: steps skipped while workers and cuDNN warm up, then steps timed.
CALIBRATION_SKIP, CALIBRATION_STEPS = 30, 60
#: A GAN step also runs the discriminator three times: its cost relative to a pretrain step, for the budget.
GAN_STEP_COST = 1.4
CSV_FIELDS = ("step", "phase", "name", "value")


def fit(trainer: Trainer, source: PhotoSource, out: Path, until_step: int | None = None) -> int:
    """Train ``trainer`` from its step to ``until_step`` (default: the end), logging under ``out``.

    Returns the step reached; stops early (after saving) on SIGTERM/SIGINT or ``max_minutes``. Under
    DDP every rank runs this loop; only rank 0 validates and writes anything.
    """
    o, main = trainer.opts, trainer.dist.is_main
    end = min(o.total_steps, until_step if until_step is not None else o.total_steps)
    trainer.data_summary = source.summary()
    trainer.prepare(source)
    train = TrainCrops(source, o, target_on_device=trainer.device.type == "cuda")
    val = ValCrops(source, o.crop_size, o.val_limit, hints=o.hint_inputs) if main else None
    if main:
        out.mkdir(parents=True, exist_ok=True)
        if len(val) == 0:
            tqdm.write("warning: no validation photos; best.pt will not be written")
    metrics = MetricsLog(out / "metrics.csv", resume_step=trainer.step) if main else None
    stop = StopFlag(o.max_minutes)
    budget = BudgetCalibration(trainer.step, o.time_budget_minutes) if o.time_budget_minutes > 0 else None
    # Under a budget the end is only known after calibration; the sampler is per-step, so any end works.
    loader_end = trainer.step + 10**7 if budget else end
    sampler = None
    if trainer.dist.enabled:
        sampler = ShardedStepBatchSampler(train.weights(), o.batch_size, o.seed, trainer.step, loader_end,
                                          trainer.dist.rank, trainer.dist.world_size)
    loader = train_loader(train, o, trainer.step, loader_end, pin_memory=trainer.device.type == "cuda",
                          batch_sampler=sampler)
    bar = tqdm(total=end, initial=trainer.step, unit="step", dynamic_ncols=True, smoothing=0.05, disable=not main)
    running: dict[str, list[float]] = {}
    tick = time.perf_counter()
    completed = False
    try:
        for batch in loader:
            losses = trainer.train_step(batch)
            phase = trainer.phase(trainer.step - 1)
            for k, v in losses.items():
                running.setdefault(k, []).append(v)
            bar.update(1)
            if main and (trainer.step % o.log_every == 0 or trainer.step == end):
                now = time.perf_counter()
                means = {k: float(np.mean(v)) for k, v in running.items()}
                crops = len(running["loss_l1"]) * o.batch_size * trainer.dist.world_size
                means["crops_per_s"] = crops / max(now - tick, 1e-9)
                means["lr"] = trainer.learning_rate(trainer.step - 1)
                metrics.write(trainer.step, phase, means)
                bar.set_postfix({k.replace("loss_", ""): f"{v:.4g}" for k, v in means.items()}, refresh=False)
                running, tick = {}, now
            if budget and budget.ready(trainer.step):
                end = _fit_to_budget(trainer, budget, val, out, metrics)
                bar.total = end
                bar.refresh()
            if main:
                _periodic(trainer, val, out, metrics, phase, end)
            if distributed.any_rank(trainer.dist, stop.requested()):
                if main:
                    tqdm.write(f"stopping at step {trainer.step}: {stop.reason or 'another process stopped'}")
                break
            if trainer.step >= end:
                break
        completed = True
    finally:
        bar.close()
        stop.restore()
        if main and not trainer._mid_step:
            trainer.save(out / "last.pt")
        if main:
            metrics.close()
            report.loss_plot(out / "metrics.csv", out / "losses.png")
    if completed and trainer.dist.enabled:
        _check_replicas_agree(trainer)
    return trainer.step

def _check_replicas_agree(trainer: Trainer) -> None:
    """DDP keeps the replicas identical by construction; a cheap check at the end catches a broken
    setup (say, a module updated outside DDP) before anyone trusts rank 0's checkpoint."""
    digests = distributed.gather_objects(trainer.dist, distributed.parameter_digest(trainer.G))
    if any(d != digests[0] for d in digests):
        raise RuntimeError("generator weights differ between processes: the DDP replicas went out of sync")

def _fit_to_budget(trainer: Trainer, budget: BudgetCalibration, val: ValCrops, out: Path, metrics: MetricsLog) -> int:
    """Rescale both phases' step counts (keeping their ratio) so the rest of the run fits the budget."""
    o = trainer.opts
    sec_per_step = budget.seconds_per_step(trainer.step)
    schedule = None
    if trainer.dist.is_main:  # rank 0 times a validation and decides; the other ranks take its schedule
        tick = time.perf_counter()
        if len(val):
            metrics.write(trainer.step, trainer.phase(), trainer.validate(val))  # a real val, timed for the estimate
        sec_per_val = time.perf_counter() - tick
        schedule = fit_schedule_to_budget(
            o.pretrain_steps, o.gan_steps, trainer.step, sec_per_step, sec_per_val, o.val_every,
            budget.seconds_left(),
        )
    o.pretrain_steps, o.gan_steps = distributed.broadcast(trainer.dist, schedule)
    o.time_budget_minutes = 0.0  # resolved: checkpoints and options.json now hold plain step counts
    if trainer.dist.is_main:
        write_options(out, o)
        tqdm.write(
            f"time budget: {sec_per_step * 1000:.0f} ms/step, {sec_per_val:.1f} s/val -> "
            f"pretrain_steps={o.pretrain_steps} gan_steps={o.gan_steps}"
        )
    return o.total_steps

def _periodic(trainer: Trainer, val: ValCrops, out: Path, metrics: MetricsLog, phase: str, end: int) -> None:
    o, step = trainer.opts, trainer.step
    phase_end = step == o.pretrain_steps or step == o.total_steps
    if len(val) and (step % o.val_every == 0 or phase_end or step == end):
        scores = trainer.validate(val)
        metrics.write(step, phase, scores)
        tqdm.write(f"step {step} {phase} " + " ".join(f"{k}={v:.4g}" for k, v in scores.items()))
        competes = o.best_from_phase == "any" or phase == GAN or o.gan_steps == 0
        value = scores.get(o.best_metric)
        if value is None:
            tqdm.write(f"warning: best_metric {o.best_metric!r} not among {sorted(scores)}")
        elif competes and (
            trainer.best is None or (value < trainer.best if o.best_lower_is_better else value > trainer.best)
        ):
            trainer.best = value
            trainer.save(out / "best.pt")
            tqdm.write(f"new best {o.best_metric}={value:.4g} at step {step} -> best.pt")
    if len(val) and (step % o.sample_every == 0 or phase_end):
        report.write_png(out / "samples" / f"step_{step:07d}.png", trainer.sample_grid(val))
        report.loss_plot(out / "metrics.csv", out / "losses.png")
    if step % o.checkpoint_every == 0:
        trainer.save(out / "last.pt")
    if step == o.pretrain_steps and o.gan_steps:
        trainer.save(out / "pretrain.pt")  # the pure-L1 model, a fallback if the GAN phase goes wrong


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
