"""The reviews distribution's own tests pass the way a third party runs them: from its folder, alone."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from tests.support.live import create_database, drop_database, run_async

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "examples" / "shop-reviews"


def test_the_reviews_distribution_passes_its_own_tests_on_a_fresh_database(servers):
    db_name = f"shop_reviews_{uuid.uuid4().hex[:10]}"
    admin = servers["database"]
    run_async(create_database(admin, db_name))
    env = {**os.environ, "DATABASE_URL": urlunparse(urlparse(admin)._replace(path="/" + db_name)),
           "REDIS_URL": servers["redis"], "SHOP_HOME": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("SHOP_CONFIG", None)
    try:
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                             cwd=DIST, env=env, capture_output=True, text=True, timeout=300)
    finally:
        run_async(drop_database(admin, db_name))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "3 passed" in run.stdout
