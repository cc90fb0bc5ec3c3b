"""What a scanner, a copier or a phone does to the paper, on augraphy (made for that).

Each function takes the clean page (RGB, PIL) and the sample's random generator and
returns the degraded image as it would reach the mailbox, plus notes saying what was
done. augraphy draws from the global ``random`` and ``numpy.random`` generators, so each
effect is seeded from the sample's generator just before it runs: a sample is the same
bytes on every run.
"""

from __future__ import annotations

import io
import random

import cv2
import numpy as np
from PIL import Image


def _seeded(rng: random.Random) -> None:
    s = rng.randrange(1 << 31)
    random.seed(s)
    np.random.seed(s)
    cv2.setRNGSeed(s)


def _aug(rng: random.Random, img: np.ndarray, name: str, **kw) -> np.ndarray:
    import augraphy

    _seeded(rng)
    out = getattr(augraphy, name)(**kw)(img, force=True)
    if isinstance(out, tuple):
        out = out[0]
    if out.ndim == 2 and img.ndim == 3:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    return out


def _bgr(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2BGR)


def _pil(arr: np.ndarray) -> Image.Image:
    if arr.ndim == 2:
        return Image.fromarray(arr)
    return Image.fromarray(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB))


def _skew(arr: np.ndarray, degrees: float, fill=(250, 250, 250)) -> np.ndarray:
    h, w = arr.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(arr, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def scanner(img: Image.Image, rng: random.Random, notes: list[str], *, light: bool = False) -> np.ndarray:
    """A flatbed or ADF scan: ink spread, toner and drum streaks, a crooked sheet, sensor noise."""
    arr = _bgr(img)
    if rng.random() < 0.5:
        arr = _aug(rng, arr, "InkBleed", intensity_range=(0.1, 0.3), kernel_size=(3, 3), severity=(0.2, 0.35))
        notes.append("ink bleed")
    if rng.random() < 0.3:
        arr = _aug(rng, arr, "InkMottling", ink_mottling_alpha_range=(0.1, 0.25))
        notes.append("ink mottling")
    if not light and rng.random() < 0.25:
        arr = _aug(rng, arr, "LowInkRandomLines", count_range=(3, 8), noise_probability=0.05)
        notes.append("low-ink lines")
    if not light and rng.random() < 0.25:
        arr = _aug(rng, arr, "DirtyDrum", line_width_range=(1, 3), line_concentration=0.05, noise_intensity=0.2,
                   noise_value=(0, 40))
        notes.append("dirty drum")
    angle = rng.uniform(-1.8, 1.8)
    arr = _skew(arr, angle)
    notes.append(f"skew {angle:+.1f}°")
    arr = _aug(rng, arr, "Brightness", brightness_range=(0.92, 1.08))
    arr = _aug(rng, arr, "SubtleNoise", subtle_range=rng.choice([4, 8, 12]))
    return arr


def copier(arr: np.ndarray, rng: random.Random, notes: list[str]) -> np.ndarray:
    """A photocopy's toner noise at one edge."""
    arr = _aug(rng, arr, "BadPhotoCopy", noise_type=rng.choice([1, 2, 5]), noise_value=(96, 160),
               noise_sparsity=(0.7, 0.95), noise_concentration=(0.05, 0.2), noise_side=rng.choice(["left", "right", "top", "bottom"]),
               blur_noise=0, wave_pattern=0, edge_effect=0)
    notes.append("photocopy noise")
    return arr


def to_gray(arr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY)


def to_bw(arr: np.ndarray, rng: random.Random, notes: list[str]) -> np.ndarray:
    """Black and white as a scanner's 'text' mode makes it: a fixed or an Otsu threshold."""
    gray = to_gray(arr) if arr.ndim == 3 else arr
    if rng.random() < 0.5:
        t = rng.randint(150, 190)
        notes.append(f"threshold {t}")
        return np.where(gray > t, 255, 0).astype(np.uint8)
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    notes.append("threshold otsu")
    return bw


def low_quality(arr: np.ndarray, rng: random.Random, notes: list[str]) -> np.ndarray:
    sigma = rng.uniform(0.4, 1.0)
    arr = cv2.GaussianBlur(arr, (0, 0), sigma)
    notes.append(f"blur {sigma:.1f}")
    return arr


def encode(arr_or_img, rng: random.Random, notes: list[str], *, jpeg: tuple[int, int] | None = None, bw: bool = False,
           dpi: float | None = None) -> tuple[bytes, str]:
    """The file a scanner writes: PNG, JPEG (quality in ``jpeg``) or 1-bit PNG / TIFF G4."""
    img = arr_or_img if isinstance(arr_or_img, Image.Image) else _pil(arr_or_img)
    buf = io.BytesIO()
    info = {"dpi": (dpi, dpi)} if dpi else {}
    if bw:
        img = img.convert("1")
        if rng.random() < 0.5:
            img.save(buf, "TIFF", compression="group4", **info)
            notes.append("1-bit TIFF G4")
            return buf.getvalue(), ".tif"
        img.save(buf, "PNG", **info)
        notes.append("1-bit PNG")
        return buf.getvalue(), ".png"
    if jpeg:
        q = rng.randint(*jpeg)
        img.save(buf, "JPEG", quality=q, **info)
        notes.append(f"JPEG q{q}")
        return buf.getvalue(), ".jpg"
    img.save(buf, "PNG", **info)
    return buf.getvalue(), ".png"


def _desk(rng: random.Random, w: int, h: int) -> np.ndarray:
    """A desk or a sofa behind the sheet: a flat colour with texture and a gradient."""
    base = np.array(rng.choice([(60, 90, 130), (40, 60, 90), (150, 150, 150), (90, 120, 160), (30, 30, 35), (180, 170, 160)]),
                    dtype=np.float32)  # BGR
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    grad = 0.8 + 0.3 * (xs / w) * rng.uniform(-1, 1) + 0.2 * (ys / h)
    rs = np.random.default_rng(rng.randrange(1 << 30))
    tex = cv2.GaussianBlur(rs.normal(0, 12, (h, w)).astype(np.float32), (0, 0), rng.uniform(1, 6))
    out = base[None, None, :] * grad[..., None] + tex[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def phone(img: Image.Image, rng: random.Random, notes: list[str]) -> Image.Image:
    """A phone photo of the sheet on a desk: folds, perspective, uneven light, shadow of the
    phone or a hand, glare, colour cast, defocus, sensor noise, JPEG."""
    arr = _bgr(img)
    if rng.random() < 0.3:
        arr = _aug(rng, arr, "Folding", fold_count=rng.choice([1, 2]), fold_noise=0.0, fold_angle_range=(-5, 5),
                   gradient_width=(0.05, 0.15), gradient_height=(0.002, 0.008), backdrop_color=(230, 230, 230))
        notes.append("folded")
    ph, pw = arr.shape[:2]
    # the scene: the sheet fills 70–92 % of a 3:4 frame, seen from a tilt
    W = int(pw / rng.uniform(0.72, 0.92))
    H = int(W * 4 / 3)
    scene = _desk(rng, W, H)
    cx, cy = W / 2 + rng.uniform(-0.04, 0.04) * W, H / 2 + rng.uniform(-0.04, 0.04) * H
    sw, sh = pw * rng.uniform(0.95, 1.0), ph * rng.uniform(0.95, 1.0)
    k = 0.045
    quad = np.float32([
        [cx - sw / 2 + rng.uniform(-k, k) * sw, cy - sh / 2 + rng.uniform(-k, k) * sh],
        [cx + sw / 2 + rng.uniform(-k, k) * sw, cy - sh / 2 + rng.uniform(-k, k) * sh],
        [cx + sw / 2 + rng.uniform(-k, k) * sw, cy + sh / 2 + rng.uniform(-k, k) * sh],
        [cx - sw / 2 + rng.uniform(-k, k) * sw, cy + sh / 2 + rng.uniform(-k, k) * sh],
    ])
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    m = cv2.getPerspectiveTransform(src, quad)
    warped = cv2.warpPerspective(arr, m, (W, H), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    inside = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), m, (W, H), flags=cv2.INTER_LINEAR)
    a = (inside.astype(np.float32) / 255.0)[..., None]
    arr = (warped * a + scene * (1 - a)).astype(np.uint8)
    notes.append("perspective on a desk")
    if rng.random() < 0.7:
        arr = _aug(rng, arr, "LightingGradient", max_brightness=255, min_brightness=rng.randint(90, 160),
                   mode=rng.choice(["gaussian", "linear_static"]), transparency=rng.uniform(0.3, 0.6))
        notes.append("uneven light")
    if rng.random() < 0.5:
        arr = _aug(rng, arr, "ShadowCast", shadow_opacity_range=(0.2, 0.5), shadow_iterations_range=(1, 1),
                   shadow_blur_kernel_range=(101, 201))
        notes.append("shadow")
    if rng.random() < 0.2:
        arr = _aug(rng, arr, "ReflectedLight", reflected_light_external_radius_range=(0.05, 0.15),
                   reflected_light_internal_max_brightness_range=(0.6, 0.8), reflected_light_external_max_brightness_range=(0.3, 0.5))
        notes.append("glare")
    cast = np.array([rng.uniform(0.85, 1.0), rng.uniform(0.93, 1.02), rng.uniform(1.0, 1.1)], dtype=np.float32)
    arr = np.clip(arr.astype(np.float32) * cast[None, None, :], 0, 255).astype(np.uint8)
    notes.append("colour cast")
    sigma = rng.uniform(0.5, 1.3)
    arr = cv2.GaussianBlur(arr, (0, 0), sigma)
    notes.append(f"defocus {sigma:.1f}")
    if rng.random() < 0.3:
        arr = _aug(rng, arr, "LowLightNoise", num_photons_range=(150, 300), alpha_range=(0.9, 1.0), beta_range=(5, 15),
                   gamma_range=(1.0, 1.2), bias_range=(5, 15))
        notes.append("low light")
    else:
        arr = _aug(rng, arr, "SubtleNoise", subtle_range=10)
    return _pil(arr)


def exif_sideways(img: Image.Image, rng: random.Random, notes: list[str], quality: int) -> bytes:
    """A photo taken with the phone held sideways: pixels turned, EXIF Orientation says how to turn them back."""
    turned = img.transpose(Image.ROTATE_90)  # the sensor's rows run along the sheet's side
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buf = io.BytesIO()
    turned.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    notes.append("stored sideways with EXIF Orientation 6")
    return buf.getvalue()
