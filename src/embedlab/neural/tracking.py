"""Where training figures go: a progress bar, a JSON-lines log, TensorBoard, Weights & Biases.

:class:`Tracker` takes scalars by name and step (``train/loss``, ``train/lr``, ``eval/accuracy``)
and sends them to every sink the user asked for. The log file ``train_log.jsonl`` is always written;
TensorBoard needs ``tensorboard`` (``pip install 'embedlab[train]'``) and writes event files with
``torch.utils.tensorboard``; W&B needs ``wandb`` installed and a project name, and honours
``WANDB_MODE=offline``. A resumed run purges TensorBoard events after the checkpoint's step, so the
curves do not fold back on themselves. This module does not train anything.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from .._progress import progress
from ..optional import require

logger = logging.getLogger(__name__)

__all__ = ["Tracker"]


class Tracker:
    """Fan-out of training scalars to the progress bar, the log file, TensorBoard and W&B."""

    def __init__(
        self,
        log_file: Path,
        *,
        total_steps: int,
        start_step: int = 0,
        append: bool = False,
        tensorboard: Path | None = None,
        wandb_project: str | None = None,
        wandb_mode: str | None = None,
        config: dict[str, Any] | None = None,
        desc: str = "training",
        show_progress: bool | None = None,
    ) -> None:
        self.log_file = log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)
        # a resumed run continues its log; a new run starts a new one
        self._log = open(log_file, "a" if append else "w", encoding="utf-8")  # noqa: SIM115
        self._tb: Any = None
        self._wandb: Any = None
        if tensorboard is not None:
            self._tb = _summary_writer(tensorboard, purge_step=start_step or None)
        if wandb_project is not None:
            self._wandb = _wandb_run(wandb_project, wandb_mode, log_file.parent, config or {})
        self._bar = progress(total=total_steps, desc=desc, unit="step", enabled=show_progress)
        self._bar.update(start_step)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        clean = {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}
        self._log.write(json.dumps({"step": step, **clean}) + "\n")
        self._log.flush()
        if self._tb is not None:
            for name, value in clean.items():
                self._tb.add_scalar(name, value, step)
        if self._wandb is not None:
            self._wandb.log(clean, step=step)
        if any(k.startswith("eval/") for k in clean):
            logger.info("step %d: %s", step, ", ".join(f"{k} {v:.4g}" for k, v in clean.items()))
        shown = {k.split("/", 1)[-1]: f"{v:.4g}" for k, v in clean.items() if k != "train/epoch"}
        self._bar.set_postfix(shown, refresh=False)

    def advance(self, steps: int = 1) -> None:
        self._bar.update(steps)

    def close(self) -> None:
        self._bar.close()
        self._log.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def _summary_writer(folder: Path, purge_step: int | None) -> Any:
    require("tensorboard", "train", "TensorBoard logging")
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(folder), purge_step=purge_step)


def _wandb_run(project: str, mode: str | None, folder: Path, config: dict[str, Any]) -> Any:
    wandb = require("wandb", None, "Weights & Biases logging", instead="drop --wandb")
    return wandb.init(project=project, mode=mode, dir=str(folder), config=config)
