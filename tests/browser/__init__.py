"""The inquiry in a real browser (Debian's Chromium, driven by Playwright's sync API)."""
