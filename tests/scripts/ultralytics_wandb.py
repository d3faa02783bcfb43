"""A tiny YOLO detector built from ultralytics' yolov8n.yaml (no weights), trained one epoch on a few
synthetic images with ultralytics' wandb callback; run by tests/test_frameworks.py with the real wandb and
with turbotrack. Usage: python ultralytics_wandb.py OUTPUT_DIR (also the working directory)."""

from pathlib import Path

import numpy as np
from PIL import Image
from ultralytics import YOLO, settings

settings.update({"wandb": True, "sync": False})  # ultralytics' own switch for its wandb callback; no analytics

rng = np.random.default_rng(0)
for split, n in (("train", 4), ("val", 2)):
    (Path("data/images") / split).mkdir(parents=True)
    (Path("data/labels") / split).mkdir(parents=True)
    for i in range(n):
        img = rng.integers(0, 60, (64, 64, 3), dtype=np.uint8)
        x0, y0 = (int(v) for v in rng.integers(4, 32, 2))
        img[y0 : y0 + 24, x0 : x0 + 24] = 230  # one bright square: class 0
        Image.fromarray(img).save(f"data/images/{split}/{i}.png")
        cx, cy = (x0 + 12) / 64, (y0 + 12) / 64
        Path(f"data/labels/{split}/{i}.txt").write_text(f"0 {cx:.6f} {cy:.6f} 0.375 0.375\n")
Path("data.yaml").write_text("path: data\ntrain: images/train\nval: images/val\nnames:\n  0: square\n")

model = YOLO("yolov8n.yaml")
model.train(
    data="data.yaml",
    epochs=1,
    imgsz=32,
    batch=2,
    workers=0,
    device="cpu",
    project="yolo",
    name="tiny",
    pretrained=False,
    amp=False,
    plots=False,
    seed=0,
    deterministic=True,
    verbose=False,
)
