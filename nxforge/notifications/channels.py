"""Channels: deliver one notification to a webhook, a Slack-compatible webhook or an SMTP server.

Each send is synchronous with a short timeout and raises ``DeliveryError`` (permanent or not);
retries, backoff and recording belong to the worker, so a channel stays a few lines of I/O.
Secrets are resolved here, at the moment of sending, and scrubbed from any error message.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from typing import Protocol

from nxforge.errors import NxForgeError
from nxforge.lean_imports import import_httpx_without_its_cli
from nxforge.notifications.config import (
    ChannelConfig,
    EmailChannelConfig,
    SlackChannelConfig,
    WebhookChannelConfig,
)
from nxforge.notifications.message import Notification
from nxforge.secrets import MissingSecretError, SecretStore, redact

log = logging.getLogger(__name__)

_SLACK_ICON = {
    "critical": ":red_circle:",
    "error": ":red_circle:",
    "warning": ":warning:",
    "info": ":information_source:",
}


class DeliveryError(NxForgeError):
    """A channel could not deliver; ``permanent`` ones (bad credentials, 4xx) are not retried.

    The message is what the outbox records as the attempt's last error, so it carries no hint.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    """Something that delivers a notification or raises ``DeliveryError``."""

    name: str

    def send(self, notification: Notification) -> None: ...


def _resolve(secrets: SecretStore, text: str) -> str:
    try:
        return secrets.resolve(text)
    except MissingSecretError as exc:
        raise DeliveryError(str(exc), permanent=True) from exc


class _HttpChannel:
    """POST JSON with a short timeout; 2xx is delivered, 408/429/5xx and network errors are retried."""

    def __init__(self, name: str, url: str, headers: dict[str, str], timeout_s: float, verify: bool,
                 secrets: SecretStore) -> None:
        self.name = name
        self._url = url
        self._headers = headers
        self._timeout_s = timeout_s
        self._verify = verify
        self._secrets = secrets

    def _post(self, body: dict[str, object]) -> None:
        import_httpx_without_its_cli()
        import httpx  # here: the collector's own process imports httpx only when it sends one of these

        url = _resolve(self._secrets, self._url)
        headers = {key: _resolve(self._secrets, value) for key, value in self._headers.items()}
        hidden = [url, *headers.values()] if url != self._url else list(headers.values())
        try:
            response = httpx.post(url, json=body, headers=headers, timeout=self._timeout_s, verify=self._verify)
        except httpx.HTTPError as exc:
            raise DeliveryError(redact(f"{type(exc).__name__}: {exc}", hidden)) from exc
        if response.is_success:
            return
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        detail = redact(response.text[:200], hidden)
        raise DeliveryError(f"HTTP {response.status_code} from the {self.name} channel: {detail}", permanent=permanent)


class WebhookChannel(_HttpChannel):
    """The notification's JSON as the POST body."""

    def __init__(self, name: str, config: WebhookChannelConfig, secrets: SecretStore) -> None:
        super().__init__(name, config.url, config.headers, config.timeout_s, config.verify_tls, secrets)

    def send(self, notification: Notification) -> None:
        """POST the notification as JSON."""
        self._post(notification.to_json())


class SlackChannel(_HttpChannel):
    """``{"text": ...}`` in Slack's mrkdwn, which Mattermost and Rocket.Chat accept as well."""

    def __init__(self, name: str, config: SlackChannelConfig, secrets: SecretStore) -> None:
        super().__init__(name, config.url, {}, config.timeout_s, config.verify_tls, secrets)
        self._config = config

    def send(self, notification: Notification) -> None:
        """POST a chat message."""
        icon = ":white_check_mark:" if notification.phase == "recovered" else _SLACK_ICON.get(notification.severity, "")
        when = f"{notification.at:%Y-%m-%d %H:%M} UTC"
        text = f"{icon} *{notification.title}*\n{notification.message}\n_{notification.site}, {when}_"
        body: dict[str, object] = {"text": text.strip()}
        if self._config.channel:
            body["channel"] = self._config.channel
        if self._config.username:
            body["username"] = self._config.username
        if self._config.icon_emoji:
            body["icon_emoji"] = self._config.icon_emoji
        self._post(body)


class EmailChannel:
    """One email per notification; STARTTLS when configured; password resolved at send time."""

    def __init__(self, name: str, config: EmailChannelConfig, secrets: SecretStore) -> None:
        self.name = name
        self._config = config
        self._secrets = secrets

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self._config.ca_file)
        if not self._config.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _message(self, notification: Notification) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = f"{self._config.subject_prefix} {notification.title}".strip()
        message["From"] = self._config.sender
        message["To"] = ", ".join(self._config.to)
        message["X-NxForge-Alert"] = f"{notification.module}/{notification.key}"
        message.set_content(notification.text())
        return message

    def send(self, notification: Notification) -> None:
        """Connect, optionally STARTTLS and log in, send, quit."""
        config = self._config
        password = _resolve(self._secrets, config.password) if config.password else None
        try:
            with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
                smtp.ehlo()
                if config.starttls:
                    smtp.starttls(context=self._tls_context())
                    smtp.ehlo()
                if config.username and password is not None:
                    smtp.login(config.username, password)
                smtp.send_message(self._message(notification))
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login as {config.username} refused: {exc.smtp_code}", permanent=True) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP refused the recipients {sorted(exc.recipients)}", permanent=True) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"the SMTP server does not support this: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(redact(f"{type(exc).__name__}: {exc}", [password or ""])) from exc


def build_channel(name: str, config: ChannelConfig, secrets: SecretStore) -> Channel:
    """The channel object for one configured channel."""
    if isinstance(config, WebhookChannelConfig):
        return WebhookChannel(name, config, secrets)
    if isinstance(config, SlackChannelConfig):
        return SlackChannel(name, config, secrets)
    return EmailChannel(name, config, secrets)
