"""Shared data loading and feature engineering for the CACO forecasters.

The feature engineering here is mirrored line for line by models/forecaster.ts; both read the
same `features.json`, and the saved test cases check that they agree.
"""
from __future__ import annotations

import json
import math
import os
import random
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DATA = os.path.join(ROOT, 'data')
MODELS = os.path.join(ROOT, 'models')
HALF_HOUR_MS = 30 * 60 * 1000
DAY_MS = 24 * 3600 * 1000
LONDON = ZoneInfo('Europe/London')


def seed_everything(seed: int) -> None:
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def iso_ms(text: str) -> int:
    """Milliseconds of an ISO 8601 UTC instant such as 2023-07-01T00:00Z."""
    return int(pd.Timestamp(text).tz_convert('UTC').value // 1_000_000)


def ms_to_iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime('%Y-%m-%dT%H:%MZ')


# ---------------------------------------------------------------- data (same rules as data/*.ts)

def load_carbon_halfhourly() -> pd.Series:
    """API actual, half-hourly, indexed by period start ms; 0 and empty -> NaN (README known issues)."""
    df = pd.read_csv(os.path.join(DATA, 'carbon-intensity', 'gb_national_ci_forecast_actual_2023-01_to_2023-09.csv'))
    ms = pd.to_datetime(df['from_utc'], utc=True).astype('int64') // 1_000_000
    v = df['actual_gco2_per_kwh'].astype(float)
    v[(v == 0) | (v < 0) | (v > 1500)] = np.nan
    return pd.Series(v.values, index=ms.values)


def load_carbon_hourly() -> pd.Series:
    df = pd.read_csv(os.path.join(DATA, 'carbon-intensity', 'gb_national_ci_hourly_actual_2020-01-08_to_2023-09-30.csv'))
    ms = pd.to_datetime(df['hour_start_utc'], utc=True).astype('int64') // 1_000_000
    v = df['carbon_intensity_gco2_per_kwh'].astype(float)
    v[(v <= 0) | (v > 1500)] = np.nan
    return pd.Series(v.values, index=ms.values)


def load_market_index_price() -> pd.Series:
    df = pd.read_csv(os.path.join(DATA, 'prices', 'elexon_system_prices_2023-01-01_to_2023-09-30.csv'))
    ms = pd.to_datetime(df['period_start_utc'], utc=True).astype('int64') // 1_000_000
    mip = df['market_index_price_gbp_per_mwh'].astype(float)
    imb = df['imbalance_price_gbp_per_mwh'].astype(float)
    bad = (df['both_zero_suspect'] == 1) | ((mip == 0) & (imb == 0)) | (mip == 0) | (mip < -1000) | (mip > 10000)
    mip[bad] = np.nan
    return pd.Series(mip.values, index=ms.values)


def dense(series: pd.Series, from_ms: int, to_ms: int) -> np.ndarray:
    """Dense half-hour array [from_ms, to_ms), NaN where missing (= data/series.ts toHalfHourSeries)."""
    n = (to_ms - from_ms) // HALF_HOUR_MS
    out = np.full(n, np.nan)
    idx = (series.index.values - from_ms) // HALF_HOUR_MS
    ok = (series.index.values >= from_ms) & (series.index.values < to_ms) & np.isfinite(series.values)
    out[idx[ok].astype(int)] = series.values[ok]
    return out


def hourly_dense(series: pd.Series, from_ms: int, to_ms: int) -> np.ndarray:
    """Both half-hours of an hour take the hourly mean (= data/series.ts hourlyToHalfHourSeries)."""
    a = dense(series, from_ms, to_ms)
    b = dense(pd.Series(series.values, index=series.index.values + HALF_HOUR_MS), from_ms, to_ms)
    return np.where(np.isfinite(a), a, b)


# ---------------------------------------------------------------- features (mirrored in TypeScript)

def london_offset_hours(ms: int) -> int:
    return int(datetime.fromtimestamp(ms / 1000, tz=LONDON).utcoffset().total_seconds() // 3600)


def calendar_features(ms: int) -> list[float]:
    """[sin,cos local half-hour of day, sin,cos local day of week (Mon=0), sin,cos UTC day of year, BST flag]."""
    off = london_offset_hours(ms)
    local_ms = ms + off * 3_600_000
    local_min = (local_ms // 60_000) % 1440
    tod = local_min / 30.0
    days = local_ms // DAY_MS
    dow = (days + 3) % 7
    year = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).year
    doy = (ms - int(datetime(year, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)) // DAY_MS
    tau = 2 * math.pi
    return [
        math.sin(tau * tod / 48), math.cos(tau * tod / 48),
        math.sin(tau * dow / 7), math.cos(tau * dow / 7),
        math.sin(tau * doy / 365.25), math.cos(tau * doy / 365.25),
        float(off),
    ]


def window_features(hist: np.ndarray, origin_ms: int, spec: dict) -> tuple[np.ndarray, np.ndarray, float]:
    """Features for one forecast origin from the `historySteps` half-hours before it.

    Returns (seq [seqLen, 2], static [staticSize], level). static = calendar (7), z one week
    before each horizon step (horizon), the mean z at each time of day over the days of history
    (48, aligned so entry h is the time of day of step h), the mean z of each day (days), and the
    level against the training mean (1). See MODEL_CARD.md.
    """
    H, L, hz = spec['historySteps'], spec['seqLen'], spec['horizon']
    assert hist.shape == (H,)
    valid = np.isfinite(hist)
    if valid.sum() < spec['minValid']:
        raise ValueError('too few valid values in history')
    level = float(np.sum(hist[valid]) / valid.sum())
    filled = np.empty(H)
    last = level
    for i in range(H):
        if valid[i]:
            last = hist[i]
        filled[i] = last
    z = (filled - level) / spec['scale']
    miss = (~valid).astype(float)
    seq = np.stack([z[H - L:], miss[H - L:]], axis=1)
    week = z[:hz]
    days = H // 48
    profile = np.array([sum(z[H + h - 48 * d] for d in range(1, days + 1)) / days for h in range(48)])
    daily = z.reshape(days, 48).mean(axis=1)
    lvl = [(level - spec['mean']) / spec['scale']]
    static = np.concatenate([calendar_features(origin_ms), week, profile, daily, lvl])
    return seq.astype(np.float32), static.astype(np.float32), level


def all_window_features(series: np.ndarray, series_from_ms: int, origins: np.ndarray, spec: dict):
    """Vectorised window_features over many origin indices (positions of the first forecast step)."""
    H, L, hz = spec['historySteps'], spec['seqLen'], spec['horizon']
    idx = origins[:, None] + np.arange(-H, 0)[None, :]
    hist = series[idx]
    valid = np.isfinite(hist)
    cnt = valid.sum(axis=1)
    level = np.where(valid, hist, 0).sum(axis=1) / np.maximum(cnt, 1)
    # forward fill along axis 1, leading NaNs take the level
    pos = np.where(valid, np.arange(H)[None, :], -1)
    pos = np.maximum.accumulate(pos, axis=1)
    filled = np.where(pos >= 0, hist[np.arange(len(origins))[:, None], np.maximum(pos, 0)], level[:, None])
    z = (filled - level[:, None]) / spec['scale']
    miss = (~valid).astype(float)
    seq = np.stack([z[:, H - L:], miss[:, H - L:]], axis=2)
    week = z[:, :hz]
    days = H // 48
    profile = sum(z[:, H - 48 * d:H - 48 * d + 48] for d in range(1, days + 1)) / days
    daily = z.reshape(len(origins), days, 48).mean(axis=2)
    lvl = ((level - spec['mean']) / spec['scale'])[:, None]
    cal = np.array([calendar_features(int(series_from_ms + o * HALF_HOUR_MS)) for o in origins])
    static = np.concatenate([cal, week, profile, daily, lvl], axis=1)
    return seq.astype(np.float32), static.astype(np.float32), level, cnt


def write_json(path: str, obj) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)
        f.write('\n')
