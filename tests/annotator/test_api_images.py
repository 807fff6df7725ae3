"""Slice images: 8-bit windowed for display, 16-bit lossless for client-side windowing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from annotator.models import Slice
from annotator.services.slicedata import channel_stats, load_channel, save_array


def decode(response) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(response.content))).astype(np.int64)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The role users are made with real password hashing otherwise (seconds per test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def slice_(make_slices) -> Slice:
    return make_slices(1)[0]


def test_the_8bit_image_applies_window_and_level(slice_, client_for):
    raw = load_channel(slice_).astype(np.float64)
    response = client_for("sam").get(f"/api/slices/{slice_.pk}/image/?window=400&level=600")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    expected = np.clip(np.rint((raw - 400) * 255 / 400), 0, 255)
    assert np.abs(decode(response) - expected).max() <= 1
    assert decode(response).shape == (32, 40)


def test_the_default_window_is_p1_to_p99(slice_, client_for):
    stats = slice_.stats["T2w"]
    raw = load_channel(slice_).astype(np.float64)
    got = decode(client_for("sam").get(f"/api/slices/{slice_.pk}/image/"))
    expected = np.clip(np.rint((raw - stats["p1"]) * 255 / (stats["p99"] - stats["p1"])), 0, 255)
    assert np.abs(got - expected).max() <= 1


@pytest.mark.parametrize("dtype", [np.int16, np.uint16])
def test_the_16bit_image_round_trips_integer_values_exactly(make_slices, client_for, dtype):
    (slice_,) = make_slices(1)
    values = np.random.default_rng(0).integers(0, 30000, size=(32, 40)).astype(dtype)
    values[0, 0] = 17
    slice_.channels = {"T2w": save_array(f"x/{slice_.pk}.npy", values)}
    slice_.save()
    response = client_for("mia").get(f"/api/slices/{slice_.pk}/image/?depth=16")
    assert response.status_code == 200
    scale, offset = float(response["X-Value-Scale"]), float(response["X-Value-Offset"])
    assert scale == 1.0 and offset == values.min()
    np.testing.assert_array_equal(decode(response) * scale + offset, values)


def test_the_16bit_image_of_float_data_maps_min_to_max_onto_the_full_range(make_slices, client_for):
    (slice_,) = make_slices(1)
    values = np.linspace(-3.5, 1e6, 32 * 40).reshape(32, 40).astype(np.float32)
    slice_.channels = {"T2w": save_array(f"x/{slice_.pk}.npy", values)}
    slice_.stats = {"T2w": channel_stats(values)}
    slice_.save()
    response = client_for("sam").get(f"/api/slices/{slice_.pk}/image/?depth=16&channel=T2w")
    pixels = decode(response)
    assert pixels.min() == 0 and pixels.max() == 65535
    real = pixels * float(response["X-Value-Scale"]) + float(response["X-Value-Offset"])
    assert np.abs(real - values).max() <= float(response["X-Value-Scale"])


@pytest.mark.parametrize(
    ("query", "status", "needle"),
    [
        ("channel=T1w", 404, "'T1w'; it has ['T2w']"),
        ("window=0&level=10", 400, "window must be a positive"),
        ("window=abc&level=10", 400, "must be numbers"),
        ("window=100", 400, "both window and level"),
        ("depth=12", 400, "depth must be 8 or 16"),
    ],
)
def test_bad_image_parameters_are_named(slice_, client_for, query, status, needle):
    response = client_for("sam").get(f"/api/slices/{slice_.pk}/image/?{query}")
    assert response.status_code == status
    assert needle in response.json()["detail"]
