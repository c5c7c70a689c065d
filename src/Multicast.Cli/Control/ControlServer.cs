using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Multicast.Linux.Sockets;

namespace Multicast.Cli.Control;

/// <summary>
/// The daemon's local control channel: a Unix socket in the config directory, mode 0600, answering one command
/// line per connection. Only root and the daemon's own user are served (SO_PEERCRED); connections are handled
/// concurrently, so an idle client cannot block the others; nothing listens on the network.
/// </summary>
public sealed class ControlServer : IDisposable
{
    private const int MaxCommandLength = 4096;
    private readonly string _path;
    private readonly Func<string, string> _handler;
    private readonly ILogger _logger;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();

    public ControlServer(string path, Func<string, string> handler, ILogger logger)
    {
        _path = path;
        _handler = handler;
        _logger = logger;
        if (File.Exists(path))
        {
            if (ControlClient.IsListening(path))
                throw new InvalidOperationException($"another daemon is already running with {path}");
            File.Delete(path); // left by a daemon that was killed
        }
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        // Created with no permissions for group/other from the first moment, then tightened explicitly.
        UnixFileMode saved = UmaskScope.Restrict();
        try { _listener.Bind(new UnixDomainSocketEndPoint(path)); }
        finally { UmaskScope.Restore(saved); }
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _listener.Listen(64);
        _ = Task.Run(AcceptLoop);
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException e) { _logger.LogWarning("control accept failed: {Message}", e.Message); continue; }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(Socket client)
    {
        using (client)
        {
            try
            {
                (int pid, uint uid) = PeerCredentials.Get(client);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                // The command is read even from a peer about to be refused: closing with its bytes unread would
                // reset the connection and the peer would see "connection reset" instead of the refusal.
                string? command = await ReadLine(client, timeout.Token);
                if (uid != 0 && uid != PeerCredentials.EffectiveUserId)
                {
                    _logger.LogWarning("control: refused pid {Pid} uid {Uid} (only root or the daemon's user)", pid, uid);
                    await client.SendAsync(Encoding.UTF8.GetBytes("error: permission denied (only root or the daemon's user may use this socket)\n"));
                    client.Shutdown(SocketShutdown.Both);
                    return;
                }
                if (command is null) return;
                string reply;
                try { reply = _handler(command.Trim()); }
                catch (Exception e) { reply = $"error: {e.Message}"; }
                await client.SendAsync(Encoding.UTF8.GetBytes(reply.EndsWith('\n') ? reply : reply + "\n"));
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or InvalidOperationException)
            {
                _logger.LogDebug("control connection ended: {Message}", e.Message);
            }
        }
    }

    private static async Task<string?> ReadLine(Socket socket, CancellationToken token)
    {
        var buffer = new byte[MaxCommandLength];
        int length = 0;
        while (length < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(length), token);
            if (n == 0) break;
            length += n;
            if (Array.IndexOf(buffer, (byte)'\n', 0, length) >= 0) break;
        }
        if (length == 0) return null;
        string text = Encoding.UTF8.GetString(buffer, 0, length);
        int newline = text.IndexOf('\n');
        return newline >= 0 ? text[..newline] : text;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { File.Delete(_path); } catch (IOException) { }
    }
}

/// <summary>Temporarily sets umask 077 so a socket file is never created readable by others.</summary>
internal static partial class UmaskScope
{
    [System.Runtime.InteropServices.LibraryImport("libc")]
    private static partial uint umask(uint mask);

    public static UnixFileMode Restrict() => (UnixFileMode)umask(0x3F);
    public static void Restore(UnixFileMode previous) => umask((uint)previous);
}
