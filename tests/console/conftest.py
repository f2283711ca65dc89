"""The console against the real stack (broker, PostgreSQL, every service), and a real headless Chromium."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sangsaeng_devstack.issuer import DEV_PASSWORD
from sangsaeng_devstack.processes import ServiceProcess
from tests.support import Stack, free_port, issuer, url_for

SCREENSHOTS = Path(os.environ.get("SANGSAENG_SCREENSHOTS", ".devstack/screenshots"))
CHROMIUM = ("chromium", "chromedriver")
SERVICE_ORDER = ("intake", "visits", "referrals", "loans", "audit", "districts")


@dataclass
class ConsoleStack:
    stack: Stack
    urls: dict[str, str]
    console: str

    def url(self, path: str) -> str:
        return self.console + path


async def start_console(stack: Stack, urls: dict[str, str], **env: str) -> str:
    """The console as a process of `stack`, calling the services at `urls`; its base URL."""
    port = free_port()
    env = {
        "HTTP_PORT": str(port), **issuer().service_env(), "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers,
        "CONSOLE_SECRET_KEY": "test-console-secret", "LOG_LEVEL": "INFO",
        **{f"{name.upper()}_URL": url for name, url in urls.items()}, **env,
    }
    console = ServiceProcess("console", "serve", env=env, log_dir=stack.log_dir, name="console",
                             ready_url=f"http://127.0.0.1:{port}/ready")
    console.start()
    stack.processes.append(console)
    await console.wait_ready(timeout=60)
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def console_stack(stack: Stack) -> AsyncIterator[ConsoleStack]:
    processes = await asyncio.gather(*(stack.start(name) for name in SERVICE_ORDER))
    urls = {name: url_for(p, "") for name, p in zip(SERVICE_ORDER, processes, strict=True)}
    yield ConsoleStack(stack, urls, await start_console(stack, urls))


async def sign_in_over_http(site: ConsoleStack, subject: str, password: str = DEV_PASSWORD) -> tuple[httpx.AsyncClient, httpx.Response]:
    """What a browser does to sign in: the console sends it to the issuer (authorization code + PKCE), the person
    signs in there, the issuer sends it back to the console's callback with a code. The client holds the
    console's cookies; the answer is the callback's (303 home with the session cookie, when it worked)."""
    client = httpx.AsyncClient(base_url=site.console, timeout=30)
    start = await client.get("/login")
    assert start.status_code == 303, start.text
    authorize = httpx.URL(start.headers["location"])
    assert authorize.path == "/authorize" and authorize.params["code_challenge_method"] == "S256"
    async with httpx.AsyncClient(timeout=30) as at_issuer:
        signed = await at_issuer.post(str(authorize.copy_with(query=None)), data={**dict(authorize.params), "username": subject, "password": password})
    if signed.status_code != 303:
        return client, signed  # the issuer refused the person
    return client, await client.get(signed.headers["location"])


def _korean_font() -> bool:
    """Without a Korean font the screenshots show boxes where the Hangul is (the page text is right regardless)."""
    return Path("/usr/share/fonts/opentype/noto").exists() or Path("/usr/share/fonts/truetype/noto-cjk").exists()


def _ensure_chromium() -> None:
    missing = [tool for tool in CHROMIUM if shutil.which(tool) is None]
    if not missing and _korean_font():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver", "fonts-noto-cjk"], check=True)
        missing = [tool for tool in CHROMIUM if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the browser tests need Debian's chromium and chromium-driver: run `apt-get install -y chromium chromium-driver` "
                    f"(missing: {', '.join(missing)})", pytrace=False)


@pytest.fixture
def browser() -> Iterator[object]:
    _ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="sangsaeng-chromium-")
    downloads = Path(tempfile.mkdtemp(prefix="sangsaeng-downloads-"))
    options = webdriver.ChromeOptions()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--lang=ko-KR", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_page_load_timeout(60)
    # headless Chromium saves downloads only where it is told to
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads  # where the test finds what the pages let the user download
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(downloads, ignore_errors=True)
