using Microsoft.Extensions.Logging;
using Multicast.Windows;

namespace Multicast.Cli.Control;

/// <summary>
/// The daemons' local control channel, addressed by one path on every platform (config directory + socket name):
/// a Unix socket with a peer-credential check on Linux, a named pipe restricted to Administrators on Windows.
/// Same protocol on both: one command line in, one reply out.
/// </summary>
public static class ControlChannel
{
    public static IDisposable Listen(string address, Func<string, string> handler, ILogger logger) =>
        OperatingSystem.IsWindows()
            ? new NamedPipeControlServer(address, handler, logger)
            : new ControlServer(address, handler, logger);

    /// <summary>Sends one command; null when no daemon serves <paramref name="address"/>.</summary>
    public static string? TrySend(string address, string command, TimeSpan? timeout = null) =>
        OperatingSystem.IsWindows()
            ? NamedPipeControl.TrySend(address, command, timeout ?? TimeSpan.FromSeconds(10))
            : ControlClient.TrySend(address, command, timeout);
}
