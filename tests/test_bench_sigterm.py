"""bench/serving.exit_on_sigterm: a benchmark ended with `kill` stops the servers it started."""

import signal
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# What bench/queue.py's run does around its servers, with a file standing in for stop_server().
SCRIPT = """
import sys, time
from pathlib import Path
from bench import serving
serving.exit_on_sigterm()
try:
    print("serving", flush=True)
    time.sleep(60)
finally:
    Path(sys.argv[1]).write_text("stopped")
"""


def test_a_killed_benchmark_runs_its_finally_blocks(tmp_path):
    marker = tmp_path / "stopped"
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(marker)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "serving"
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 128 + signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
    assert marker.read_text() == "stopped"
