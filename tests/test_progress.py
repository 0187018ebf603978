"""Progress bars on the long CLI runs: on stderr, one step per job or benchmark part, and nothing at all
when stderr is not a terminal, so that logs and JSON stay clean."""

import dataclasses

from swa_demo import bench_runs, cli, tiny


class Recorder:
    """Stands in for tqdm: what the command told its bar."""

    made: list = []

    def __init__(self, total, desc):
        self.total, self.desc, self.steps, self.lines = total, desc, 0, []
        Recorder.made.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        self.steps += n

    def set_postfix_str(self, text):
        pass

    def write(self, line, file=None):
        self.lines.append(line)
        print(line, file=file)


def test_train_steps_the_bar_once_per_model_and_keeps_its_log_on_stdout(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(Recorder, "made", [])
    monkeypatch.setattr(cli, "_progress", Recorder)
    monkeypatch.setattr(tiny, "train", lambda n, pattern, log: log(f"{pattern}-L{n} step 0 loss 3.2") or n)
    monkeypatch.setattr(tiny, "save", lambda model, path: None)
    monkeypatch.setattr(tiny, "weights_path", lambda n, pattern: tmp_path / f"{pattern}-L{n}.safetensors")
    assert cli.main(["train", "--all"]) == 0
    (bar,) = Recorder.made
    jobs = tiny.MAX_LAYERS * len(tiny.SHIPPED_PATTERNS)
    assert (bar.desc, bar.total, bar.steps) == ("train", jobs, jobs)
    out = capsys.readouterr()
    assert out.out.count("saved ") == jobs and "sliding-L1 step 0 loss 3.2" in out.out and out.err == ""


def test_bench_gpu_steps_the_bar_once_per_part_of_its_plan(monkeypatch, capsys):
    monkeypatch.setattr(Recorder, "made", [])
    monkeypatch.setattr(cli, "_progress", Recorder)

    def run(plan, out, log, advance):
        for part in range(plan.parts):
            log(f"part {part}")
            advance()

    monkeypatch.setattr(bench_runs, "run", run)
    assert cli.main(["bench", "gpu", "--plan", "hybrid", "--layers", "4"]) == 0
    (bar,) = Recorder.made
    plan = dataclasses.replace(bench_runs.PLANS["hybrid"], layers=4)
    assert bar.total == bar.steps == plan.parts and capsys.readouterr().out.count("part ") == plan.parts


def test_the_bar_is_silent_when_stderr_is_not_a_terminal(capsys):
    with cli._progress(3, "check") as bar:
        for _ in range(3):
            bar.update()
    assert capsys.readouterr().err == ""  # pytest's captured stderr is no terminal
