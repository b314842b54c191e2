"""Live progress: the relay the runner shows on its terminal, and the bars the helpers write for it."""

import io

from helpers.progress import PROGRESS_FILE, ProgressRelay, progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_batch_bar_goes_to_the_progress_file_and_one_line_to_the_notebook(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(PROGRESS_FILE, str(tmp_path / "progress.log"))
    with progress(30, "teacher") as bar:
        for _ in range(30):
            bar.update(1)
    written = (tmp_path / "progress.log").read_text()
    assert "teacher: 100%" in written and "30/30" in written
    out = capsys.readouterr()
    assert out.out.startswith("teacher: 30 reviews in ") and out.out.count("\n") == 1 and out.err == ""


def test_relay_prints_periodic_lines_when_not_a_terminal(tmp_path):
    log, shown = tmp_path / "progress.log", io.StringIO()
    relay = ProgressRelay(log, shown, every=0)
    with open(log, "a") as stream:
        stream.write("\rtrain: 10%|# | 1/10 [00:01<00:09]")
        stream.flush()
        relay.pump()
        stream.write("\rtrain: 50%|#####  | 5/10 [00:05<00:05]\rtrain: 100%|##########| 10/10 [00:10<00:00]\n\n")
        stream.flush()
        relay.pump()
        relay.pump()  # nothing new: nothing printed
    lines = shown.getvalue().splitlines()
    assert lines == ["    train: 10%|# | 1/10 [00:01<00:09]", "    train: 100%|##########| 10/10 [00:10<00:00]"]


def test_relay_throttles_lines_in_a_log(tmp_path):
    log, shown = tmp_path / "progress.log", io.StringIO()
    relay = ProgressRelay(log, shown, every=3600)
    with open(log, "a") as stream:
        for i in range(1, 6):
            stream.write(f"\rscore: {i}/100")
            stream.flush()
            relay.pump()
    assert shown.getvalue().splitlines() == ["    score: 1/100"]  # one line, then quiet for an hour
    relay.pump(final=True)
    assert shown.getvalue().splitlines()[-1] == "    score: 5/100"


def test_relay_keeps_one_updating_line_on_a_terminal(tmp_path):
    log, terminal = tmp_path / "progress.log", FakeTerminal()
    relay = ProgressRelay(log, terminal)
    with open(log, "a") as stream:
        for i in (1, 2, 3):
            stream.write(f"\rtrain: {i}/3")
            stream.flush()
            relay.pump()
    relay.clear()
    text = terminal.getvalue()
    assert "\n" not in text and text.count("\r\x1b[K") == 4 and "train: 3/3" in text
