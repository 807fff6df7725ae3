"""Synthetic lumbar-spine MRI phantom: sagittal T2w/T1w slices with all 12 classes of the lumbar schema.

Image convention (same as the real MIDS data after `mlcore.io.sagittal_stack`): rows run superior ->
inferior, columns run anterior -> posterior (the patient faces left). Anatomy is drawn in millimetres in
a curved "spine" frame (s along the lordotic curve of the posterior vertebral wall, t across it, positive
= posterior); `offset_mm` is the para-sagittal position of the slice (negative = patient's left), so
neighbouring slices of a subject change smoothly (the canal narrows and vanishes off the midline, exiting
nerve roots and pedicles appear, the aorta sits left and the vena cava right).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

LUMBAR_CLASSES: tuple[str, ...] = (
    "background",
    "vertebrae",
    "sacrum",
    "intervertebral discs",
    "spinal cavity",
    "subcutaneous fat",
    "epidural fat",
    "intramuscular fat",
    "retroperitoneal fat",
    "nerve roots",
    "blood vessels",
    "muscle",
)
BG, VERT, SACRUM, DISC, CANAL, SUBCUT, EPI, IMFAT, RETRO, ROOT, VESSEL, MUSCLE = range(12)

# Relative intensity per class (T2w, T1w): fat bright on both, CSF bright on T2 / dark on T1,
# disc nucleus bright on T2, flowing blood dark, marrow brighter on T1 than on T2.
_INTENSITY = {
    "T2w": np.array([0.30, 0.38, 0.40, 0.38, 0.95, 0.80, 0.72, 0.66, 0.75, 0.35, 0.08, 0.25], np.float32),
    "T1w": np.array([0.35, 0.55, 0.58, 0.32, 0.12, 0.92, 0.85, 0.80, 0.88, 0.30, 0.10, 0.38], np.float32),
}
_NUCLEUS = {"T2w": 0.88, "T1w": 0.30}
_TEXTURE = np.array([0.35, 0.12, 0.12, 0.05, 0.03, 0.05, 0.05, 0.05, 0.05, 0.05, 0.10, 0.08], np.float32)


@dataclass
class SubjectParams:
    """Per-subject anatomy and contrast (all lengths in mm)."""

    fov: float
    scale: float
    y_top: float  # L1 upper endplate, mm from the top of the image
    x0: float  # posterior wall of L1, mm from the anterior edge
    heights: np.ndarray  # (5,) vertebral body heights L1..L5
    discs: np.ndarray  # (5,) disc heights L1-2 .. L5-S1
    depth: float  # antero-posterior depth of the vertebral bodies
    lordosis: float
    sacral_angle: float  # degrees from vertical
    canal: float  # antero-posterior depth of the dural sac
    epidural: float
    subcut: float
    back: float  # posterior vertebral wall -> skin
    retro: float
    aorta_r: float
    ivc_r: float
    degenerate: np.ndarray  # (5,) bool: dark (desiccated) disc on T2
    streaks: np.ndarray  # (n, 7): s, t, length, thickness, angle, offset centre, offset half-width
    roots: np.ndarray  # (n, 2): depth fraction in the canal, offset centre of cauda equina strands
    waves: np.ndarray  # (k, 4): ky, kx, ko (cycles/mm), phase -> smooth tissue texture
    bias: np.ndarray  # (4,) smooth multiplicative bias field coefficients
    gain: np.ndarray  # (12,) per-class intensity jitter
    noise: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PhantomSubject:
    subject_id: str
    t2: np.ndarray  # (N, H, W) float32
    t1: np.ndarray  # (N, H, W) float32
    masks: np.ndarray  # (N, H, W) uint8
    offsets_mm: np.ndarray | None = None  # (N,) para-sagittal position of each slice (mm)
    slice_thickness: float = 4.0
    pixel_mm: float = 1.0


def sample_subject_params(rng: np.random.Generator) -> SubjectParams:
    """Draw one plausible subject: size, curvature, vertebra heights, fat, contrast jitter."""
    scale = rng.uniform(0.9, 1.1)
    fov = rng.uniform(265, 300)
    n_streaks = int(rng.integers(8, 14))
    streaks = np.column_stack(
        [
            rng.uniform(-10, 230, n_streaks),
            rng.uniform(0.15, 0.85, n_streaks),
            rng.uniform(15, 45, n_streaks),
            rng.uniform(1.4, 3.0, n_streaks),
            rng.uniform(-0.25, 0.25, n_streaks),
            rng.uniform(-30, 30, n_streaks),
            rng.uniform(8, 20, n_streaks),
        ]
    )
    streaks[:3, 5] = rng.uniform(-4, 4, 3)  # a few always cross the midline
    roots = np.column_stack(
        [rng.uniform(0.5, 0.85, 5), np.array([-5.0, -2.0, 0.5, 3.0, 6.0]) + rng.uniform(-1, 1, 5)]
    )
    k = 6
    wavelength = rng.uniform(12, 60, k)
    direction = rng.normal(size=(k, 3)) * np.array([1, 1, 0.5])
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    waves = np.column_stack([direction / wavelength[:, None], rng.uniform(0, 2 * np.pi, k)])
    return SubjectParams(
        fov=fov,
        scale=scale,
        y_top=fov * 0.1 + rng.uniform(-8, 8),
        x0=fov * 0.5 + rng.uniform(-8, 8),
        heights=rng.normal(26, 1.5, 5) * scale,
        discs=(np.array([8, 9, 10, 11, 10.0]) + rng.normal(0, 1, 5)) * scale,
        depth=rng.normal(34, 2) * scale,
        lordosis=rng.uniform(5, 16),
        sacral_angle=rng.uniform(28, 45),
        canal=rng.uniform(12, 17) * scale,
        epidural=rng.uniform(2, 4),
        subcut=rng.uniform(8, 30),
        back=rng.uniform(55, 75) * scale,
        retro=rng.uniform(8, 20),
        aorta_r=rng.uniform(9, 12),
        ivc_r=rng.uniform(9, 13),
        degenerate=rng.random(5) < np.array([0.05, 0.05, 0.1, 0.3, 0.35]),
        streaks=streaks,
        roots=roots,
        waves=waves,
        bias=rng.normal(0, 0.25, 4),
        gain=rng.uniform(0.9, 1.1, 12).astype(np.float32),
        noise=rng.uniform(0.015, 0.035),
    )


def _superellipse(a: np.ndarray, b: np.ndarray, p: int = 4) -> np.ndarray:
    """|a|^p + |b|^p <= 1 for even p, with multiplications only (pow is slow)."""
    a2, b2 = a * a, b * b
    an, bn = a2, b2
    for _ in range(p // 2 - 1):
        an, bn = an * a2, bn * b2
    inside: np.ndarray = an + bn <= 1.0
    return inside


def _clip01(a: np.ndarray) -> np.ndarray:
    clipped: np.ndarray = np.minimum(np.maximum(a, 0), 1)  # np.clip is several times slower on small arrays
    return clipped


def _chord(offset: float, radius: float) -> float:
    """Fraction of a round structure's full extent seen at a lateral offset (0 when missed)."""
    return float(np.sqrt(max(0.0, 1.0 - (offset / radius) ** 2)))


@dataclass
class Anatomy:
    mask: np.ndarray  # (H, W) uint8 class ids
    nucleus: np.ndarray  # (H, W) bool: disc nucleus (bright on T2 unless degenerate)
    cortex: np.ndarray  # (H, W) bool: cortical rim of the vertebral bodies
    air: np.ndarray  # (H, W) bool: outside the body


def anatomy(p: SubjectParams, size: tuple[int, int], offset_mm: float = 0.0) -> Anatomy:
    """Label map of one slice at a para-sagittal offset, with the maps the renderer needs."""
    h, w = size
    ps = p.fov / max(h, w)
    y = (np.arange(h, dtype=np.float32) + 0.5) * ps  # (H,)
    x = (np.arange(w, dtype=np.float32) + 0.5) * ps  # (W,)
    o = float(offset_mm)
    thin = 0.6 * ps  # thin structures stay at least ~1 pixel wide on coarse grids

    # Centre line of the posterior vertebral wall: lordotic lumbar arc blending into the tilted sacrum.
    lum = float(p.heights.sum() + p.discs.sum())
    u = _clip01((y - p.y_top) / lum)
    blend = 1 / (1 + np.exp(-(y - p.y_top - lum) / 6.0))
    slope = (1 - blend) * (-p.lordosis * np.pi / lum * np.cos(np.pi * u)) + blend * float(
        np.tan(np.radians(p.sacral_angle))
    )
    c = np.cumsum(slope) * ps
    c += p.x0 - np.interp(p.y_top, y, c)
    arc = np.cumsum(np.sqrt(1 + slope**2)) * ps
    arc -= np.interp(p.y_top, y, arc)
    cos = 1 / np.sqrt(1 + slope**2)
    dx = x[None, :] - c[:, None]  # (H, W)
    s = arc[:, None] + dx * (slope * cos)[:, None]  # along the spine, 0 at the L1 upper endplate
    t = dx * cos[:, None]  # across the spine, + posterior

    heights, discs = [float(v) for v in p.heights], [float(v) for v in p.discs]
    tops = [0.0] + [float(v) for v in np.cumsum(p.heights + p.discs)]  # L1..L5 tops, then S1 top
    bottoms = [tops[k] + heights[k] for k in range(5)]
    s_s1, sac_len, ao = tops[5], 95 * p.scale, abs(o)

    def rows(lo: float, hi: float) -> slice:
        """Rows that can hold spine coordinates s in [lo, hi] (keeps per-structure work small)."""
        return slice(int(np.searchsorted(arc, lo - 45)), int(np.searchsorted(arc, hi + 45)))

    us = _clip01((s - s_s1) / sac_len)
    d_body = p.depth * (0.55 + 0.45 * _chord(o, 24 * p.scale))
    front = np.where(s < s_s1, np.float32(-d_body), -p.depth * (1 - 0.55 * us))  # anterior bone surface (t)

    mask = np.zeros((h, w), np.uint8)
    skin = p.x0 + p.back + p.subcut + 0.08 * ao - 0.5 * p.lordosis * np.sin(np.pi * u)
    skin = np.minimum(skin + 0.3 * np.maximum(y - p.y_top - lum - 20, 0), p.fov - 4)  # buttocks
    inside = x[None, :] < skin[:, None]

    mask[inside & (t < -0.3 * p.depth) & (t > front - p.retro - 4 * (1 + us))] = RETRO
    mask[inside & (t > 0.5) & (x[None, :] < (skin - p.subcut)[:, None])] = MUSCLE
    g = min(max((ao - 18) / 15, 0.0), 1.0)  # psoas lateral to the bodies
    if g > 0:
        r = rows(tops[1], s_s1 + 20)
        ramp = _clip01((s[r] - tops[1]) / (s_s1 - tops[1]))
        mask[r][
            (s[r] > tops[1])
            & (s[r] < s_s1 + 20)
            & (t[r] < -2)
            & (t[r] > -p.depth * (0.3 + 0.9 * ramp) * g - 2)
        ] = MUSCLE
    for sc, tf, length, thick, ang, oc, oh in p.streaks:
        if abs(o - oc) >= oh:
            continue
        cy = p.y_top + sc
        cx = float(np.interp(cy, y, c)) + p.canal + 8 + tf * (p.back - p.canal - 8)
        r = slice(int(np.searchsorted(y, cy - length)), int(np.searchsorted(y, cy + length)))
        yy, xx = y[r, None] - cy, x[None, :] - cx
        a = (yy * np.cos(ang) + xx * np.sin(ang)) / (length / 2)
        b = (-yy * np.sin(ang) + xx * np.cos(ang)) / max(thick / 2 * _chord(o - oc, oh), thin)
        mask[r][(a * a + b * b <= 1) & (mask[r] == MUSCLE)] = IMFAT
    mask[inside & (x[None, :] >= (skin - p.subcut)[:, None]) & (t > 0)] = SUBCUT

    # Great vessels on the anterior surface: aorta (left) to its bifurcation at L4, cava (right).
    s_bif = tops[3] + 0.6 * heights[3]
    for oc, rad, s_end, ap in ((-8.0, p.aorta_r, s_bif, 1.0), (16.0, p.ivc_r, bottoms[4], 0.7)):
        f = _chord(o - oc, rad)
        if f > 0:
            mask[(s < s_end) & (t < front - 2) & (t > front - 2 - 2 * rad * ap * f) & inside] = VESSEL
    r = rows(s_bif, s_s1 + 60)
    for side in (-1, 1):  # common iliac arteries diverge below the bifurcation
        oc = side * 8 + side * 0.6 * np.maximum(s[r] - s_bif, 0)
        f = np.sqrt(np.maximum(1 - ((o - oc) / 5.5) ** 2, 0))
        sr, tr, fr = s[r], t[r], front[r]
        mask[r][(sr >= s_bif) & (sr < s_s1 + 60) & (f > 0) & (tr < fr - 2) & (tr > fr - 2 - 11 * f)] = VESSEL

    # Canal, epidural fat and nerve roots.
    wc = 10 * p.scale
    fc = _chord(o, wc)
    depth_c = p.canal * fc * _clip01(1 - (s - s_s1) / 25)  # dural sac ends near S2
    canal_end = 0.8 + depth_c
    if fc > 0:
        bump = sum(np.exp(-(((s - bottoms[k] - discs[k] / 2) / 8) ** 2)) for k in range(5))
        e = np.maximum(
            p.epidural * (0.4 + 0.8 * bump) * np.minimum(np.maximum(s / 60 + 0.5, 0.3), 1), thin * 2
        )
        lumbar = (s > -40) & (s < s_s1 + 5)
        mask[lumbar & (t > 0.8) & (t < canal_end + e)] = EPI
        mask[
            (s > bottoms[4] - 5)
            & (s < s_s1 + sac_len * 0.8)
            & (t > 0)
            & (t < p.canal * fc * (1 - 0.5 * us) + 2)
        ] = EPI
        mask[(t > 0.8) & (t < canal_end) & (depth_c > 0)] = CANAL
        s_conus = bottoms[0] + discs[0] / 2
        r = rows(-200, s_conus)
        half = 4.0 * _chord(o, 5) * _clip01((s_conus - s[r]) / 25)
        mask[r][(half > 0.3) & (np.abs(t[r] - 0.8 - depth_c[r] * 0.5) < np.maximum(half, thin))] = ROOT
        r = rows(s_conus - 10, s_s1 + 15)
        for frac, oc in p.roots:  # cauda equina strands lie dorsally in the supine patient
            if abs(o - oc) < 2.5:
                strand = (
                    (s[r] > s_conus - 10)
                    & (s[r] < s_s1 + 15)
                    & (np.abs(t[r] - 0.8 - depth_c[r] * frac) < max(0.8, thin))
                )
                mask[r][strand & (mask[r] == CANAL)] = ROOT
    if wc <= ao < wc + 16:  # foramina: exiting root in a cushion of fat, between the pedicles
        for k in range(5):
            r = rows(tops[k], tops[k + 1])
            sr, tr = s[r], t[r]
            mask[r][((sr - bottoms[k] - 0.1 * heights[k]) / 9) ** 2 + ((tr - 4) / 6) ** 2 <= 1] = EPI
            rr = ((sr - bottoms[k] + 0.2 * heights[k]) / 3.5) ** 2 + ((tr - 4) / max(2.5, thin)) ** 2
            mask[r][rr <= 1] = ROOT

    # Discs, then bone (endplates win over the disc's rounded corners).
    nucleus = np.zeros((h, w), bool)
    cortex = np.zeros((h, w), bool)
    if _chord(o, 25 * p.scale) > 0:
        for k in range(5):
            r = rows(bottoms[k], tops[k + 1])
            m, hd = (bottoms[k] + tops[k + 1]) / 2, (tops[k + 1] - bottoms[k]) / 2 + 1.0
            disc = _superellipse((s[r] - m) / hd, (t[r] + d_body * 0.49 - 0.5) / (d_body * 0.5 + 0.5), 4)
            mask[r][disc] = DISC
            if not p.degenerate[k]:
                ell = ((s[r] - m) / (0.33 * discs[k])) ** 2 + ((t[r] + d_body / 2) / (0.3 * d_body)) ** 2 <= 1
                nucleus[r] |= ell & disc
    for k in range(5):
        r = rows(tops[k], bottoms[k] + discs[k])
        sr, tr = s[r], t[r]
        if _chord(o, 24 * p.scale) > 0:
            hh = heights[k] / 2
            a, b = (sr - tops[k] - hh) / hh, (tr + d_body / 2) / (d_body / 2)
            body = _superellipse(a, b, 6)
            mask[r][body] = VERT
            cortex[r] |= body & ~_superellipse(a * hh / (hh - 1.5), b * d_body / (d_body - 3), 6)
        if wc - 1 <= ao < wc + 12:  # pedicles
            mask[r][
                (sr > tops[k] + 1) & (sr < tops[k] + 0.5 * heights[k]) & (tr > 0) & (tr < p.canal + 3)
            ] = VERT
        if wc - 3 <= ao < wc + 20:  # articular pillar and laminae
            mask[r][
                (sr > tops[k] + 0.3 * heights[k])
                & (sr < bottoms[k] + 0.8 * discs[k])
                & (tr > p.canal + 3)
                & (tr < p.canal + 16)
            ] = VERT
        if ao < 6:  # lamina and spinous process on the midline
            a = (sr - (tops[k] + bottoms[k]) / 2 - 0.1 * (tr - p.canal)) / (0.38 * heights[k])
            b = (tr - p.canal - p.epidural - 17) / 16
            mask[r][_superellipse(a, b, 4) & (tr > canal_end[r] + 1.5)] = VERT
    if ao < 50:
        r = rows(s_s1, s_s1 + sac_len)
        sr, tr, ur = s[r], t[r], us[r]
        in_sac = (sr >= s_s1) & (sr <= s_s1 + sac_len * (1 - 0.45 * min(ao / 50, 1)))
        mask[r][in_sac & (tr > front[r]) & (tr < (0.0 if ao < wc else p.canal + 8))] = SACRUM
        if ao < wc:
            back_wall = p.canal * fc * (1 - 0.5 * ur) + 2
            mask[r][in_sac & (tr >= back_wall) & (tr < back_wall + 7 * (1 - 0.4 * ur))] = SACRUM
    mask[~inside] = BG
    nucleus &= mask == DISC
    return Anatomy(mask, nucleus, cortex & (mask == VERT), ~inside)


def render(
    anat: Anatomy, p: SubjectParams, contrast: str, rng: np.random.Generator, offset_mm: float = 0.0
) -> np.ndarray:
    """Intensity image (H,W) float32 (roughly 0..1.2) for a label map: tissue contrast, smooth texture,
    partial-volume blur, bias field and Rician noise."""
    if contrast not in _INTENSITY:
        raise ValueError(f"contrast must be 'T2w' or 'T1w', got {contrast!r}")
    mask = anat.mask
    h, w = mask.shape
    ps = p.fov / max(h, w)
    y = (np.arange(h, dtype=np.float32) + 0.5) * ps
    x = (np.arange(w, dtype=np.float32) + 0.5) * ps
    texture = np.zeros((h, w), np.float32)
    for ky, kx, ko, phase in p.waves:
        texture += np.cos(2 * np.pi * (ky * y[:, None] + kx * x[None, :] + ko * offset_mm) + phase)
    texture /= np.sqrt(len(p.waves))
    level = _INTENSITY[contrast] * p.gain
    img = level[mask] * (1 + _TEXTURE[mask] * texture)
    img[anat.nucleus] = _NUCLEUS[contrast] * p.gain[DISC]
    img[anat.cortex] *= 0.45
    img[anat.air] = 0.0
    img = ndimage.gaussian_filter(img, 0.6, truncate=2.5)
    by = np.exp(p.bias[0] * (y / p.fov - 0.5) + p.bias[1] * (y / p.fov - 0.5) ** 2)
    bx = np.exp(
        p.bias[2] * (x / p.fov - 0.5) + 0.5 * np.abs(p.bias[3]) * (x / p.fov)
    )  # spine coil: posterior
    img *= (by[:, None] * bx[None, :]).astype(np.float32)
    noise = rng.normal(0, p.noise, size=(2, h, w)).astype(np.float32)
    rician: np.ndarray = np.sqrt((img + noise[0]) ** 2 + noise[1] ** 2).astype(np.float32)
    return rician


def generate_slice(
    rng: np.random.Generator,
    size: tuple[int, int] = (256, 256),
    contrast: str = "T2w",
    subject_params: SubjectParams | None = None,
    offset_mm: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """One sagittal slice. Returns (image (H,W) float32, mask (H,W) uint8 with values 0..11)."""
    params = subject_params if subject_params is not None else sample_subject_params(rng)
    anat = anatomy(params, size, offset_mm)
    return render(anat, params, contrast, rng, offset_mm), anat.mask


def generate_subject(
    seed: int,
    n_slices: int = 9,
    size: tuple[int, int] = (256, 256),
    subject_id: str | None = None,
    slice_thickness: float = 4.0,
) -> PhantomSubject:
    """A seeded subject: n_slices para-sagittal slices centred on the midline, T2w and T1w on one mask.
    Returns PhantomSubject with t2/t1 (N,H,W) float32 and masks (N,H,W) uint8."""
    if n_slices < 1:
        raise ValueError(f"n_slices must be at least 1, got {n_slices}")
    rng = np.random.default_rng(seed)
    params = sample_subject_params(rng)
    offsets = (np.arange(n_slices) - (n_slices - 1) / 2) * slice_thickness
    t2 = np.empty((n_slices, *size), np.float32)
    t1 = np.empty_like(t2)
    masks = np.empty((n_slices, *size), np.uint8)
    for i, off in enumerate(offsets):
        anat = anatomy(params, size, float(off))
        masks[i] = anat.mask
        t2[i] = render(anat, params, "T2w", rng, float(off))
        t1[i] = render(anat, params, "T1w", rng, float(off))
    return PhantomSubject(
        subject_id or f"P{seed:04d}", t2, t1, masks, offsets, slice_thickness, params.fov / max(size)
    )


def write_mids(
    folder: str | Path,
    n_subjects: int = 3,
    n_slices: int = 9,
    size: tuple[int, int] = (256, 256),
    seed: int = 0,
) -> list[Path]:
    """Write a BIMCV/MIDS tree of phantom subjects (see mlcore.io.write_phantom_subject). Returns every
    file written (images, sidecars, masks, label tables)."""
    from mlcore.io import write_dataset_description, write_phantom_subject

    root = Path(folder)
    written = write_dataset_description(root)
    for i in range(n_subjects):
        sub_seed = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        subject = generate_subject(sub_seed, n_slices, size, subject_id=f"P{i + 1:04d}")
        written += write_phantom_subject(root, subject, LUMBAR_CLASSES, field_strength=(1.5, 3.0)[i % 2])
    return written
