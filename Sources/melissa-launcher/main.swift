import Glibc
import MelissaFlavors
import MelissaLauncher

// Everything lives in MelissaLauncher so tests can reach it; this file only maps the result to exit().
exit(LauncherCommand.run(arguments: Array(CommandLine.arguments.dropFirst()), flavors: Flavors.registry))
