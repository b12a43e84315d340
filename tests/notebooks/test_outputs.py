"""The output comparison itself: it must ignore how the kernel chunks a stream and catch
a changed number."""

import nbformat
import outputs


def notebook(*outs):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("pass", outputs=list(outs)))
    return nb


def stdout(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_stream_split_between_text_and_newline_is_not_drift():
    # seen in CI: print("r = 0  singular") flushed before its newline
    committed = notebook(stdout("r = 0  singular\nr = 1  RMSE 0.45\n"))
    fresh = notebook(stdout("r = 0  singular"), stdout("\nr = 1  RMSE 0.45\n"))
    assert outputs.differences(committed, fresh) == []


def test_stderr_between_stdout_chunks_is_ignored():
    committed = notebook(stdout("a\nb\n"))
    fresh = notebook(
        stdout("a\n"), nbformat.v4.new_output("stream", name="stderr", text="warn\n"), stdout("b\n")
    )
    assert outputs.differences(committed, fresh) == []


def test_changed_number_is_drift():
    committed = notebook(stdout("RMSE 0.456517\n"))
    fresh = notebook(stdout("RMSE 0.456518\n"))
    assert len(outputs.differences(committed, fresh)) == 1


def test_timings_are_masked_but_results_are_not():
    committed = notebook(
        stdout("took 1.2 s\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "0.5"}, execution_count=1),
    )
    fresh = notebook(
        stdout("took 3.4 s\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "0.6"}, execution_count=1),
    )
    drift = outputs.differences(committed, fresh)
    assert len(drift) == 1 and "0.6" in drift[0] and "3.4" not in drift[0]
