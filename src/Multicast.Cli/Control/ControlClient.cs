using System.Net.Sockets;
using System.Text;

namespace Multicast.Cli.Control;

/// <summary>Talks to a running daemon over its control socket.</summary>
public static class ControlClient
{
    public const string ServerSocket = "multis.sock";
    public const string ClientSocket = "multic.sock";

    public static bool IsListening(string path)
    {
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>Sends one command and returns the reply, or null when no daemon listens on <paramref name="path"/>.</summary>
    public static string? TrySend(string path, string command, TimeSpan? timeout = null)
    {
        if (OperatingSystem.IsWindows()) return ControlChannel.TrySend(path, command, timeout);
        if (!File.Exists(path)) return null;
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try { s.Connect(new UnixDomainSocketEndPoint(path)); }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            throw new UnauthorizedAccessException($"{path}: permission denied (run as root)");
        }
        s.ReceiveTimeout = (int)(timeout ?? TimeSpan.FromSeconds(10)).TotalMilliseconds;
        s.Send(Encoding.UTF8.GetBytes(command + "\n"));
        var reply = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int n;
            while ((n = s.Receive(buffer)) > 0) reply.Write(buffer, 0, n);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            throw new IOException($"{path}: the daemon did not answer '{command}' in time");
        }
        return Encoding.UTF8.GetString(reply.ToArray());
    }
}
