"""The page in headless Chromium: served by `linuxwasm serve`, and exported
to a static host that sends no headers (the service worker's path)."""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linuxwasm import browser, kernel, modules, net, relay, server, site, system
from linuxwasm.paths import REPO, SYSTEM
from tests.hosts import GATEWAY, Endless, serving, serving_blob

pytestmark = pytest.mark.skipif(browser.available() is not None, reason=str(browser.available()))


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    return site.export(tmp_path_factory.mktemp("site") / "site", kernel.build(), system.build())


@pytest.fixture(scope="module")
def url(exported) -> Iterator[str]:
    with server.serving(exported) as httpd:
        yield server.url_of(httpd)


@pytest.fixture(scope="module")
def chromium():
    with browser.chromium() as instance:
        yield instance


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1000, "height": 600})
    yield context.new_page()
    context.close()


def status(page) -> str:
    return page.locator("#status").text_content()


# All tasks in one Web Worker (Chromium has JSPI), or with ?threads a Web Worker per task.
@pytest.mark.parametrize("query, tasking", [("", "coroutines on one host thread"), ("?threads", "host threads")],
                         ids=["coroutines", "threads"])
def test_shell_in_the_page(page, url, query, tasking):
    page.goto(url + query)
    browser.wait_for_prompt(page)
    output = browser.run_command(page, "echo hello-from-browser; uname -r")
    assert output[0] == "hello-from-browser"
    assert re.fullmatch(r"6\.1\.\d+", output[1]), output
    assert status(page) == "running"
    assert f"tasks run as {tasking}\r\n" in page.locator("#log").text_content()


def test_resize_reaches_the_guest(page, url):
    page.goto(url)
    browser.wait_for_prompt(page)
    before = page.evaluate("[linuxwasm.terminal.rows, linuxwasm.terminal.cols]")
    assert browser.run_command(page, "stty size") == [f"{before[0]} {before[1]}"]
    page.set_viewport_size({"width": 700, "height": 400})
    page.wait_for_function(f"linuxwasm.terminal.cols < {before[1]}")
    rows, cols = page.evaluate("[linuxwasm.terminal.rows, linuxwasm.terminal.cols]")
    assert browser.run_command(page, "stty size") == [f"{rows} {cols}"]


def test_ctrl_c_interrupts_the_foreground_job(page, url):
    page.goto(url)
    browser.wait_for_prompt(page)
    before = len(browser.screen_lines(page))
    page.keyboard.type("sleep 100\n")
    # Ctrl-C before the shell made sleep the foreground job would go to the shell.
    time.sleep(1)
    page.keyboard.press("Control+C")
    page.wait_for_function(f"linuxwasm.screenText().split('\\n').length > {before}"
                           " && /[#$]$/.test(linuxwasm.screenText().split('\\n').at(-1))", timeout=10_000)
    assert browser.run_command(page, "echo status=$?") == ["status=130"]


def test_copy_and_paste_with_ctrl_shift(page, url):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(url)
    browser.wait_for_prompt(page)
    browser.run_command(page, "echo copy-me-$((40 + 2))")
    page.evaluate("linuxwasm.terminal.selectLines(1, 1)")
    page.keyboard.press("Control+Shift+C")
    page.wait_for_function("navigator.clipboard.readText().then((text) => text.includes('copy-me-42'))")
    page.evaluate("navigator.clipboard.writeText('echo pasted-$((6 * 7))')")
    page.keyboard.press("Control+Shift+V")
    page.wait_for_function("linuxwasm.screenText().endsWith('echo pasted-$((6 * 7))')")
    assert browser.run_command(page, "") == ["pasted-42"]


def test_vi_and_less_draw_full_screen(page, url):
    page.goto(url)
    browser.wait_for_prompt(page)
    rows = page.evaluate("linuxwasm.terminal.rows")
    lines = len((SYSTEM / "etc" / "profile").read_text().splitlines())
    page.keyboard.type("vi /etc/profile\n")
    page.wait_for_function("linuxwasm.terminal.buffer.active.type === 'alternate'"
                           f" && /profile 1\\/{lines}/.test(linuxwasm.screenText())", timeout=10_000)
    screen = browser.screen_lines(page)
    assert screen[0] == "# Read by login shells (the console's shell is one)."
    assert screen[lines:rows - 1] == ["~"] * (rows - 1 - lines)  # vi's empty lines, down to its status line
    assert f"/etc/profile 1/{lines}" in screen[rows - 1]
    page.keyboard.type(":q\n")
    browser.wait_for_prompt(page)

    page.keyboard.type(f"seq 1 {3 * rows} | less\n")
    page.wait_for_function(f"linuxwasm.screenText().split('\\n').includes('{rows - 1}')", timeout=10_000)
    page.keyboard.press("Space")  # the next page: rows - 1 lines and less's prompt
    page.wait_for_function(f"linuxwasm.screenText().split('\\n').includes('{2 * (rows - 1)}')", timeout=10_000)
    assert browser.screen_lines(page)[-2:] == [str(2 * (rows - 1)), ":"]
    page.keyboard.type("q")
    browser.wait_for_prompt(page)


def test_kernel_log_poweroff_and_restart(page, url):
    page.goto(url)
    browser.wait_for_prompt(page)
    log = page.locator("#log")
    assert log.is_hidden()
    assert "hello" not in "\n".join(browser.screen_lines(page))  # the log is not in the terminal
    page.locator("#show-log").check()
    assert log.is_visible()
    assert "Linux version 6.1" in log.text_content()
    assert "Linux version" not in "\n".join(browser.screen_lines(page))

    page.keyboard.type("poweroff\n")
    page.wait_for_function("linuxwasm.exit !== null", timeout=10_000)
    assert page.evaluate("linuxwasm.exit.status") == 0
    assert status(page).startswith("stopped")
    page.locator("#restart").click()
    browser.wait_for_prompt(page)
    assert browser.run_command(page, "echo booted-again") == ["booted-again"]


def test_kernel_panic_shows_in_the_page(page, exported, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    manifest = json.loads((broken / site.MANIFEST).read_text())
    manifest["cmdline"] += " rdinit=/no-such-init init=/no-such-init"
    (broken / site.MANIFEST).write_text(json.dumps(manifest))
    with server.serving(broken) as httpd:
        page.goto(server.url_of(httpd))
        page.wait_for_function("linuxwasm.exit !== null", timeout=30_000)
        assert "kernel panic" in status(page)
        assert "VFS: Unable to mount root fs" in status(page)  # no /init, and no disk for a root
        assert page.locator("#status.failed").count() == 1
        assert "kernel panic" in "\n".join(browser.screen_lines(page))


def test_a_worker_that_cannot_load_is_an_error(page, url):
    """The worker starts as the page loads; its failure waits for the machine, then shows."""
    page.route("**/runtime/browser/worker.js", lambda route: route.abort())
    page.goto(url)
    page.wait_for_function("linuxwasm.exit !== null", timeout=30_000)
    assert "a host thread failed" in status(page)
    assert page.locator("#status.failed").count() == 1


@pytest.fixture(scope="module")
def static_host(exported) -> Iterator[str]:
    """python -m http.server: no isolation headers, no wasm MIME type."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                               cwd=exported, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait()


def test_static_host_through_the_service_worker(page, static_host):
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.goto(static_host)
    browser.wait_for_prompt(page)
    assert page.evaluate("crossOriginIsolated && navigator.serviceWorker.controller !== null")
    assert len(navigations) == 2  # the page, and the one reload that isolates it
    assert browser.run_command(page, "echo hello-from-browser") == ["hello-from-browser"]


def test_no_shared_memory_is_explained(chromium, static_host):
    context = chromium.new_context(service_workers="block")
    try:
        page = context.new_page()
        page.goto(static_host)
        problem = page.locator("#problem")
        problem.wait_for(state="visible", timeout=10_000)
        assert "SharedArrayBuffer" in problem.text_content()
        assert "cross-origin isolated" in problem.text_content()
    finally:
        context.close()


def test_a_newcomer_is_greeted_and_told_where_to_read_more(page, url):
    # Every status line the page shows while booting, as it shows it.
    page.add_init_script("""
        document.addEventListener('DOMContentLoaded', () => {
          const line = document.getElementById('status');
          window.statuses = [];
          new MutationObserver(() => statuses.push(line.textContent))
            .observe(line, { childList: true, characterData: true, subtree: true });
        });""")
    page.goto(url)
    browser.wait_for_prompt(page)
    screen = "\n".join(browser.screen_lines(page))
    assert "running in this tab" in screen and "Type help for what to try" in screen
    assert "Your home, /root, is a disk kept by this browser" in screen
    log_lines = {line.strip() for line in page.locator("#log").text_content().splitlines()}
    booting = [s.removeprefix("booting: ") for s in page.evaluate("statuses") if s.startswith("booting: ")]
    assert booting, "no boot progress shown"
    assert [s for s in booting if s not in log_lines] == [], (booting, sorted(log_lines)[:40])  # whole lines, never fragments
    assert "busybox --list" in "\n".join(browser.run_command(page, "help"))
    guide = page.locator("a", has_text="guide").get_attribute("href")
    response = page.request.get(url.rstrip("/") + "/" + guide.lstrip("/"))
    assert response.ok and "a short guide" in response.text()


def test_the_guest_has_the_browsers_clock_and_time_zone(chromium, url):
    context = chromium.new_context(viewport={"width": 1000, "height": 600}, timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        page.goto(url)
        browser.wait_for_prompt(page)
        zone, seconds = browser.run_command(page, "date +%Z; date +%s")
        assert zone == "JST" and abs(int(seconds) - time.time()) < 30
    finally:
        context.close()


# -- the home disk in OPFS --------------------------------------------------------

def test_the_home_survives_a_reload(page, url):
    page.goto(url)
    browser.wait_for_prompt(page)
    assert browser.run_command(page, "grep ' /root ' /proc/mounts | cut -d' ' -f1-4") == ["/dev/vda /root ext4 rw,relatime,nodelalloc,commit=1"]
    browser.run_command(page, "echo kept > /root/note; mkdir /root/work")
    time.sleep(2)  # the home's journal is committed every second
    page.reload()
    browser.wait_for_prompt(page)
    assert browser.run_command(page, "cat /root/note; ls /root") == ["kept", "lost+found  note        work"]


def test_a_second_tab_gets_the_home_read_only(page, url):
    page.goto(url)
    browser.wait_for_prompt(page)
    browser.run_command(page, "echo first > /root/mine; sync")
    second = page.context.new_page()
    second.goto(url)
    browser.wait_for_prompt(second)
    assert "your home (/root) is in use in another tab: here it is read-only" in "\n".join(browser.screen_lines(second))
    assert second.locator("#reset-home").is_disabled()
    out = browser.run_command(second, "echo x > /root/other; ls /root")
    assert out[0].endswith("Read-only file system") and "other" not in out[1]
    # The first tab's disk is untouched, and still its own.
    assert browser.run_command(page, "echo more >> /root/mine; cat /root/mine") == ["first", "more"]


def test_reset_home_empties_it_after_asking(page, url):
    page.goto(url)
    browser.wait_for_prompt(page)
    browser.run_command(page, "echo gone-soon > /root/file")
    asked = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.click("#reset-home")  # dismissed: nothing happens
    assert browser.run_command(page, "cat /root/file") == ["gone-soon"]
    page.click("#reset-home")
    page.wait_for_function("linuxwasm.screenText().includes('Your home') && !linuxwasm.screenText().includes('gone-soon')")
    browser.wait_for_prompt(page)
    assert asked[0].startswith("Empty your home (/root)?")
    assert browser.run_command(page, "ls /root") == ["lost+found"]


def test_files_go_up_into_the_home_and_come_down_as_downloads(chromium, url, tmp_path):
    context = chromium.new_context(viewport={"width": 1000, "height": 600}, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(url)
        browser.wait_for_prompt(page)
        upload = tmp_path / "notes.txt"
        upload.write_bytes(b"from the host\n" * 1000)
        page.set_input_files("#upload-file", str(upload))
        page.wait_for_function("document.getElementById('status').textContent === 'uploaded notes.txt to /root'")
        assert browser.run_command(page, "md5sum < /root/notes.txt")[0].split()[0] == \
            hashlib.md5(upload.read_bytes()).hexdigest()
        browser.run_command(page, "seq 1 50000 > /root/numbers")
        with page.expect_download() as info:
            browser.run_command(page, "download numbers")
        download = info.value
        assert download.suggested_filename == "numbers"
        assert Path(download.path()).read_text() == "".join(f"{i}\n" for i in range(1, 50001))
        assert browser.run_command(page, "download /etc; download missing") == [
            "download: /etc: not a readable file", "download: missing: not a readable file"]
    finally:
        context.close()


@pytest.fixture(scope="module")
def module_files(tmp_path_factory) -> list[Path]:
    """hello.ko and faulty.ko, built from copies of their example folders."""
    built = []
    for name in ("hello", "faulty"):
        copy = tmp_path_factory.mktemp("modules") / name
        shutil.copytree(REPO / "examples" / "modules" / name, copy)
        built += modules.build(copy)
    return built


# The page's kernel instances (one, or one per Web Worker with ?threads) load
# a module uploaded to the home; its oops names it in a trace of Chromium's stack.
@pytest.mark.parametrize("query", ["", "?threads"], ids=["coroutines", "threads"])
def test_a_module_uploaded_in_the_page_loads_unloads_and_oopses(page, url, query, module_files):
    page.goto(url + query)
    browser.wait_for_prompt(page)
    page.set_input_files("#upload-file", [str(path) for path in module_files])
    page.wait_for_function("document.getElementById('status').textContent === 'uploaded faulty.ko to /root'")
    output = browser.run_command(page, "insmod /root/hello.ko who=page && dmesg | tail -1 | cut -c 16-"
                                       " && rmmod hello && dmesg | tail -1 | cut -c 16-")
    assert output[-2:] == ["hello: hello, page", "hello: goodbye, page"], output
    output = browser.run_command(page, "insmod /root/faulty.ko && sh -c 'echo null > /proc/faulty';"
                                       " dmesg | grep -o 'faulty_null_write+.*'")
    # (the first lines on the screen are the command's, wrapped)
    assert output[-2] == "Segmentation fault", output
    assert re.fullmatch(r"faulty_null_write\+0x[0-9a-f]+/0x[0-9a-f]+ \[faulty\]", output[-1]), output
    # The kernel goes on (faulty cannot go: its /proc write never ended, as on Linux).
    assert browser.run_command(page, "echo alive") == ["alive"]


# -- the page's network: serve --net ----------------------------------------

@pytest.fixture(scope="module")
def served_blob(tmp_path_factory) -> Iterator[tuple[int, bytes]]:
    """A test HTTP server on this host's 127.0.0.1 serving /blob; its port and the blob."""
    with serving_blob(tmp_path_factory.mktemp("blob"), 2_000_000) as served:
        yield served


def test_the_page_reaches_the_network_through_the_relay(page, exported, served_blob):
    port, blob = served_blob
    with server.serving(exported, relay=relay.Relay(net.Nat(host_loopback=True))) as httpd:
        page.goto(server.url_of(httpd))
        browser.wait_for_prompt(page)
        assert "The network (eth0) goes through the relay at ws://" in "\n".join(browser.screen_lines(page))
        output = browser.run_command(
            page, f"wget -q -O- http://{GATEWAY}:{port}/blob | sha256sum",
            timeout=60)
        assert output[0].split()[0] == hashlib.sha256(blob).hexdigest()


def test_without_a_relay_the_page_says_there_is_no_network(page, url):
    page.goto(url)
    browser.wait_for_prompt(page)
    assert "No network: no relay at ws://" in "\n".join(browser.screen_lines(page))
    # Only the card on the tab's own switch, and no route out of it.
    assert browser.run_command(page, "ls -1 /sys/class/net; ip route | grep -c default") == ["eth0", "lo", "0"]


def test_two_machines_in_one_tab_talk_over_its_switch(page, url):
    page.goto(url)
    browser.wait_for_prompt(page)
    assert "eth0 is 10.0.1.2 on this tab's switch" in "\n".join(browser.screen_lines(page))
    browser.run_command(page, "mkdir -p /tmp/w && echo served-by-machine-1 > /tmp/w/index.html && "
                              "httpd -p 80 -h /tmp/w")
    page.click("#new-machine")
    page.wait_for_function("linuxwasm.sessions.length === 2 && linuxwasm.active.index === 1")
    browser.wait_for_prompt(page)
    assert page.locator("#machines button").count() == 2 and page.locator("#machines").is_visible()
    assert browser.run_command(page, "hostname; wget -q -O- http://10.0.1.2/") == ["linuxwasm-2",
                                                                                  "served-by-machine-1"]
    # And back: the first machine reaches the second.
    page.locator("#machines button").first.click()
    assert browser.run_command(page, "ping -c 1 -W 5 10.0.1.3 | grep -c 'bytes from'") == ["1"]


# Passed here 54 times in 56 and failed twice, and once in CI's fresh Debian 12 root: then the endless
# download ends cleanly (wget status 0, about 170 kB in) before the relay goes away, as if the far end
# closed it; not understood yet.
@pytest.mark.xfail(reason="now and then the endless download ends cleanly before the relay goes away",
                   strict=False)
def test_a_relay_that_goes_away_breaks_the_guests_connections(page, exported):
    with serving(Endless) as port, server.serving(exported, relay=relay.Relay(net.Nat(host_loopback=True))) as httpd:
        page.goto(server.url_of(httpd))
        browser.wait_for_prompt(page)
        browser.run_command(page, f"(wget -O /dev/null http://{GATEWAY}:{port}/ 2>/tmp/err; echo $? > /tmp/rc) & "
                                  "sleep 1")
        # The relay's NAT dies, and with it the WebSocket: the page hears of it, and so does the guest.
        # Killed, as in a crash: nothing of it may reach the guest but the loss.
        subprocess.run(["pkill", "-KILL", "-P", str(os.getpid()), "^passt"], check=True)
        page.wait_for_function("document.getElementById('status').textContent.includes('relay went away')",
                               timeout=10_000)
        output = browser.run_command(page, "for i in $(seq 50); do [ -e /tmp/rc ] && break; sleep 0.2; done; "
                                           "echo status=$(cat /tmp/rc) resets=$(grep -c 'reset by peer' /tmp/err); "
                                           "cat /tmp/err", timeout=30)
    assert "status=1 resets=1" in output, output  # wget failed, the connection reset by its peer
