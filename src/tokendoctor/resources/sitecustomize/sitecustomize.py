"""Put on PYTHONPATH by ``tokendoctor run``: arms tokendoctor's botocore hook, then runs the
program's own ``sitecustomize`` (if any) exactly as Python would have.

Until the program imports ``botocore.session`` this is one tiny finder on ``sys.meta_path`` and
nothing else is imported; only then is ``tokendoctor.hook`` loaded and botocore patched.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _tokendoctor_hook():  # type: ignore[no-untyped-def]
    try:
        from tokendoctor import hook
    except ImportError:
        # Another interpreter than tokendoctor's: load tokendoctor from where `run` found it,
        # without leaving that directory on sys.path.
        home = os.environ.get("TOKENDOCTOR_HOOK_HOME")
        if not home:
            raise
        sys.path.append(home)
        try:
            from tokendoctor import hook
        finally:
            sys.path.remove(home)
    return hook


class _TokendoctorHookFinder:
    """Waits for ``botocore.session``; answers nothing else."""

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname != "botocore.session":
            return None
        try:  # noqa: SIM105 - contextlib is one more import at every start-up
            sys.meta_path.remove(self)
        except ValueError:
            pass
        try:
            return _tokendoctor_hook().find_and_patch(fullname, path, target, skip=self)
        except Exception:  # noqa: BLE001 - an unsupported interpreter simply runs without the hook
            return None


def _tokendoctor_activate() -> None:
    # Leave sys.path as the program would have had it without this directory.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    sys.meta_path.insert(0, _TokendoctorHookFinder())
    # Chain the program's own sitecustomize, if there is one further down the path.
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("sitecustomize", sys.path)
    if spec is not None and spec.loader is not None and spec.origin != os.path.abspath(__file__):
        from importlib.util import module_from_spec

        module = module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)  # its errors surface as Python's own "Error in sitecustomize"


_tokendoctor_activate()
del _tokendoctor_activate
