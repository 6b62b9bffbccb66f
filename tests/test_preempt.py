"""runtime/preempt.js: every loop of a user program gets a preemption point."""

import json
import subprocess
from pathlib import Path

from linuxwasm import guest, nodejs
from linuxwasm.paths import BUILD, GUEST, RUNTIME

SCRIPT = """
import { readFileSync } from 'node:fs';
import { addPreemptionPoints, hasPreemptionPoints } from '%s';
const bytes = new Uint8Array(readFileSync(process.argv[2]));
try {
  const out = addPreemptionPoints(bytes);
  new WebAssembly.Module(out);  // still valid
  console.log(JSON.stringify({ grown: out.length - bytes.length,
                               marked: [hasPreemptionPoints(bytes), hasPreemptionPoints(out)] }));
} catch (error) {
  console.log(JSON.stringify({ error: error.message }));
}
"""


def _instrument(tmp_path: Path, wasm: Path) -> dict:
    script = tmp_path / "instrument.mjs"
    script.write_text(SCRIPT % (RUNTIME / "preempt.js").as_uri())
    out = subprocess.run([str(nodejs.build()), str(script), str(wasm)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)


def test_a_program_stays_valid_and_grows_by_its_checks(tmp_path):
    wasm = guest.build_program(GUEST / "busy.c", BUILD / "guest" / "busy.wasm", libc=True)
    result = _instrument(tmp_path, wasm)
    # musl's and the program's loops each got a check of 30-odd bytes.
    assert result["grown"] > 30, result
    assert result["marked"] == [False, True]


def test_the_system_image_programs_are_rewritten_when_built(tmp_path):
    """So that no boot spends its time on them (system.py, runtime/node/preempt.js)."""
    from linuxwasm import system

    for program in system.programs().values():
        assert b"linuxwasm.preempted" in program.read_bytes(), program


def test_the_rewriter_cli_says_why_it_fails(tmp_path):
    wasm = tmp_path / "no-syscall.wasm"
    wasm.write_bytes(NO_SYSCALL)
    result = subprocess.run([str(nodejs.build()), str(RUNTIME / "node" / "preempt.js"),
                             str(wasm), str(tmp_path / "out.wasm")], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (1, f"preempt: {wasm}: no linux.syscall import\n")
    assert not (tmp_path / "out.wasm").exists()


# A loop and no linux.syscall import to yield through.
NO_SYSCALL = bytes.fromhex("0061736d01000000"  # magic, version
                           "010401600000"  # type: () -> ()
                           "03020100"  # one function
                           "0a0901070003400c000b0b")  # body: loop br 0 end end


def test_a_module_without_the_syscall_import_is_refused(tmp_path):
    wasm = tmp_path / "empty.wasm"
    wasm.write_bytes(NO_SYSCALL)
    assert _instrument(tmp_path, wasm) == {"error": "no linux.syscall import"}
