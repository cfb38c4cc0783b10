"""IAM in local mode: each caller signs as a role of the synthesized template, and a request is allowed
only if that role's identity policies in the template allow its action on its resource, as AWS
decides it (an explicit Deny wins, then any Allow, else the implicit deny).

Who signs as what:
- each Lambda worker: its function's execution role (credentials minted per run, like the temporary
  credentials Lambda hands a function), so a handler may do exactly what its role grants;
- the Step Functions interpreter: the state machine's role (lambda:InvokeFunction, sqs:SendMessage);
- the documented local credentials (`local` / `local`): the account's administrator, as a user's
  own tools (AWS CLI, SDK, the tests' set-up) are when they deploy and inspect a stack.

Evaluated: Effect, Action/NotAction and Resource/NotResource with `*` and `?` wildcards, in identity
policies (AWS::IAM::Policy attached to the role, the role's inline Policies, and the template's
customer managed policies, AWS::IAM::ManagedPolicy, attached to it). Not evaluated: Conditions (a
statement with one counts only if it is a Deny: stricter, never more lenient), AWS managed policies
(none of our functions' roles has one), and resource policies (a queue's TLS-only Deny, say, cannot
bite on local plain HTTP).
"""

from __future__ import annotations

import fnmatch
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from local.iam import sigv4
from local.template.names import ACCOUNT_ID, local_arn
from local.template.resolver import Resolver
from local.template.stack import SynthesizedStack

ADMIN_ACCESS_KEY = "local"
ADMIN_SECRET_KEY = "local"
ROLE_KEY_PREFIX = "LOCALROLE"
SECRET = "AWS::SecretsManager::Secret"
MAX_CACHED_DECISIONS = 10_000


@dataclass(frozen=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_action: bool = False
    not_resource: bool = False
    conditional: bool = False

    def applies(self, action: str, resource: str) -> bool:
        if self.conditional and self.allow:
            return False  # a condition local mode cannot evaluate never grants
        action_hit = any(wildcard_match(pattern.lower(), action.lower()) for pattern in self.actions)
        resource_hit = any(wildcard_match(pattern, resource) for pattern in self.resources)
        return (action_hit != self.not_action) and (resource_hit != self.not_resource)


@lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str]:
    # IAM knows only * and ?: fnmatch's [] classes are escaped.
    return re.compile(fnmatch.translate(pattern.replace("[", "[[]")))


def wildcard_match(pattern: str, value: str) -> bool:
    """IAM's matching of a pattern with `*` and `?` (also ArnLike's, for a resource policy's SourceArn)."""
    return bool(_pattern(pattern).match(value))


@dataclass
class Principal:
    """A role of the template, as one caller assumed it."""

    role: str  # the role's logical id (its name locally)
    session: str  # e.g. the function's name
    statements: list[Statement] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{self.role}/{self.session}"


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


class AccessDenied(Exception):
    def __init__(self, principal: Principal, action: str, resource: str) -> None:
        self.message = (
            f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action"
        )
        super().__init__(self.message)


class _PolicyResolver(Resolver):
    """ARNs as AWS writes them in policies, where the local Ref of a resource is a name or URL."""

    def ref(self, logical_id: str) -> str:
        if logical_id in self.resources and self.resources[logical_id]["Type"] == SECRET:
            return local_arn(SECRET, logical_id)
        return super().ref(logical_id)


class LocalIam:
    """The template's roles and their identity policies, with credentials to sign as each one."""

    def __init__(self, roles: dict[str, list[Statement]]) -> None:
        self.roles = roles
        self._credentials: dict[str, Credentials] = {}
        self._by_key: dict[str, tuple[str, str]] = {}  # access key -> (role, secret)
        self._lock = threading.Lock()
        self._decisions: dict[tuple[str, str, str], bool] = {}

    def mint_for_functions(self, stack: SynthesizedStack) -> None:
        """Credentials for every function's workers now (a copy of this LocalIam made later, as the
        DynamoDB process gets, knows them all)."""
        for spec in stack.functions().values():
            if spec.role:
                self.credentials(spec.role, spec.name)

    def update_roles(self, stack: SynthesizedStack) -> None:
        """The template changed: its roles' policies from now on; credentials already minted stay valid."""
        roles = LocalIam.from_stack(stack).roles
        with self._lock:
            self.roles = roles
            self._decisions = {}

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (the DynamoDB process gets a copy): everything but the lock."""
        with self._lock:
            return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @classmethod
    def from_stack(cls, stack: SynthesizedStack) -> LocalIam:
        resolver = _PolicyResolver(stack.resources, stack.stack_name)
        roles: dict[str, list[Statement]] = {lid: [] for lid, r in stack.resources.items() if r["Type"] == "AWS::IAM::Role"}
        for logical_id, statements in roles.items():
            for inline in stack.resources[logical_id]["Properties"].get("Policies", []):
                statements.extend(_statements(inline["PolicyDocument"], resolver))
        managed: dict[str, list[Statement]] = {}
        for logical_id, resource in stack.resources.items():
            if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            granted = _statements(resource["Properties"]["PolicyDocument"], resolver)
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                managed[logical_id] = granted
            for role in resource["Properties"].get("Roles", []):
                if isinstance(role, dict) and role.get("Ref") in roles:
                    roles[role["Ref"]].extend(granted)
        for logical_id, statements in roles.items():  # a role's own customer managed policies
            for arn in stack.resources[logical_id]["Properties"].get("ManagedPolicyArns", []):
                if isinstance(arn, dict) and arn.get("Ref") in managed:
                    statements.extend(managed[arn["Ref"]])
        return cls(roles)

    def credentials(self, role: str, session: str) -> Credentials:
        """Credentials that sign as `role` in a session named `session` (minted once per run)."""
        if role not in self.roles:
            raise KeyError(f"no role {role} in the template")
        with self._lock:
            found = self._credentials.get(f"{role}/{session}")
            if found is None:
                key = f"{ROLE_KEY_PREFIX}{secrets.token_hex(8).upper()}"
                found = Credentials(key, secrets.token_urlsafe(30), f"local-session-{secrets.token_hex(16)}")
                self._credentials[f"{role}/{session}"] = found
                self._by_key[key] = (f"{role}/{session}", found.secret_key)
            return found

    def secrets(self) -> dict[str, str]:
        """Every access key local mode accepts, with its secret (for signature checks)."""
        with self._lock:
            return {ADMIN_ACCESS_KEY: ADMIN_SECRET_KEY, **{key: secret for key, (_, secret) in self._by_key.items()}}

    def principal(self, access_key: str) -> Principal | None:
        """The role session an access key signs as; None for the administrator."""
        with self._lock:
            found = self._by_key.get(access_key)
        if found is None:
            return None
        role, session = found[0].split("/", 1)
        return Principal(role, session, self.roles[role])

    def authorize(self, request: sigv4.SignedRequest, action: str, resources: list[str], service: str | None = None) -> str:
        """As AWS does before serving a call: sigv4.SignatureRefused unless `request` is signed by a key
        local mode knows (for `service`, when given), AccessDenied unless that key's role may do
        `action` on `resources`. Returns the access key."""
        key = sigv4.verify(request, self.secrets(), service=service)
        self.check(key, action, resources)
        return key

    def check(self, access_key: str, action: str, resources: list[str]) -> None:
        """AccessDenied unless the key's role may do `action` on every one of `resources`."""
        principal = self.principal(access_key)
        if principal is None:
            return
        for resource in resources:
            if not self.allows(principal, action, resource):
                raise AccessDenied(principal, action, resource)

    def allows(self, principal: Principal, action: str, resource: str) -> bool:
        key = (principal.role, action, resource)
        decision = self._decisions.get(key)
        if decision is None:
            statements = [s for s in principal.statements if s.applies(action, resource)]
            decision = any(s.allow for s in statements) and not any(not s.allow for s in statements)
            if len(self._decisions) >= MAX_CACHED_DECISIONS:  # resources carry connection ids: keep it bounded
                self._decisions.clear()
            self._decisions[key] = decision
        return decision


def _statements(document: dict[str, Any], resolver: Resolver) -> list[Statement]:
    return [_statement(raw, lambda r: _resolve_resource(r, resolver)) for raw in _as_list(document.get("Statement", []))]


def _statement(raw: dict[str, Any], resolve: Callable[[Any], str]) -> Statement:
    return Statement(
        allow=raw.get("Effect") == "Allow",
        actions=tuple(str(a) for a in _as_list(raw.get("Action", raw.get("NotAction", [])))),
        resources=tuple(resolve(r) for r in _as_list(raw.get("Resource", raw.get("NotResource", [])))),
        not_action="NotAction" in raw,
        not_resource="NotResource" in raw,
        conditional=bool(raw.get("Condition")),
    )


def policy_allows(answer: Any, action: str, resource: str) -> bool:
    """Whether a Lambda authorizer's answer allows `action` on `resource`, as API Gateway evaluates its
    policy document: a matching Deny wins, then a matching Allow (wildcards * and ?), else refused.
    A malformed answer allows nothing."""
    document = answer.get("policyDocument") if isinstance(answer, dict) else None
    if not isinstance(document, dict):
        return False
    raws = [raw for raw in _as_list(document.get("Statement", [])) if isinstance(raw, dict)]
    matching = [s for s in (_statement(raw, str) for raw in raws) if s.applies(action, resource)]
    return any(s.allow for s in matching) and not any(not s.allow for s in matching)


def _resolve_resource(value: Any, resolver: Resolver) -> str:
    try:
        return str(resolver.resolve(value))
    except (KeyError, ValueError, TypeError):
        return "\0unresolvable"  # matches no request: a grant local mode cannot read grants nothing


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
