"""The counselors' workspace in the browser: its page, security headers and live feed."""
