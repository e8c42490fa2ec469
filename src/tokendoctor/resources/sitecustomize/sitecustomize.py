"""Put on PYTHONPATH by ``tokendoctor run``: turns tokendoctor's botocore hook on, then runs the
program's own ``sitecustomize`` (if any) exactly as Python would have.

It imports nothing of botocore; the hook waits until the program imports it.
"""

import os
import sys


def _tokendoctor_activate() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    # Leave sys.path as the program would have had it without this directory.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        try:
            import tokendoctor.hook as hook
        except ImportError:
            # Another interpreter than tokendoctor's: load tokendoctor from where `run` found it,
            # without leaving that directory on sys.path.
            home = os.environ.get("TOKENDOCTOR_HOOK_HOME")
            if not home:
                raise
            sys.path.append(home)
            try:
                import tokendoctor.hook as hook
            finally:
                sys.path.remove(home)
        hook.install()
    except Exception:  # noqa: BLE001 - an unsupported interpreter simply runs without the hook
        pass
    # Chain the program's own sitecustomize, if there is one further down the path.
    from importlib.machinery import PathFinder
    from importlib.util import module_from_spec

    spec = PathFinder.find_spec("sitecustomize", sys.path)
    if spec is not None and spec.loader is not None and spec.origin != os.path.abspath(__file__):
        module = module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)  # its errors surface as Python's own "Error in sitecustomize"


_tokendoctor_activate()
del _tokendoctor_activate
