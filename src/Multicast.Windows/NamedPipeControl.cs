using System.IO.Pipes;
using System.Runtime.Versioning;
using System.Security.AccessControl;
using System.Security.Cryptography;
using System.Security.Principal;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Multicast.Windows;

/// <summary>
/// The Windows control channel: the Unix socket's protocol (one command line in, one reply out, per connection) over
/// a local named pipe whose ACL admits only Administrators and SYSTEM and refuses network logons. The channel is
/// addressed by the same path as the Unix socket (config directory + socket name), hashed into the pipe name, so two
/// daemons with different config directories never share a pipe.
/// </summary>
public static class NamedPipeControl
{
    private const int MaxCommandLength = 4096;

    public static string PipeName(string address)
    {
        string full = Path.GetFullPath(address).ToLowerInvariant();
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)))[..12];
        return $"multicast-{Path.GetFileNameWithoutExtension(full)}-{hash}";
    }

    /// <summary>Sends one command; null when no daemon serves <paramref name="address"/>.</summary>
    public static string? TrySend(string address, string command, TimeSpan timeout)
    {
        using var pipe = new NamedPipeClientStream(".", PipeName(address), PipeDirection.InOut, PipeOptions.None);
        try { pipe.Connect((int)Math.Min(timeout.TotalMilliseconds, 2000)); }
        catch (TimeoutException) { return null; }
        catch (UnauthorizedAccessException) { throw new UnauthorizedAccessException("control pipe: access denied (run as Administrator)"); }
        pipe.Write(Encoding.UTF8.GetBytes(command + "\n"));
        pipe.Flush();
        using var reply = new MemoryStream();
        var readTask = pipe.CopyToAsync(reply);
        if (!readTask.Wait(timeout)) throw new IOException($"the daemon did not answer '{command}' in time");
        return Encoding.UTF8.GetString(reply.ToArray());
    }

    /// <summary>Who may connect: Administrators and SYSTEM, locally; nobody over the network.</summary>
    [SupportedOSPlatform("windows")]
    public static PipeSecurity Security()
    {
        var security = new PipeSecurity();
        security.AddAccessRule(new PipeAccessRule(new SecurityIdentifier(WellKnownSidType.NetworkSid, null),
            PipeAccessRights.FullControl, AccessControlType.Deny));
        security.AddAccessRule(new PipeAccessRule(new SecurityIdentifier(WellKnownSidType.BuiltinAdministratorsSid, null),
            PipeAccessRights.FullControl, AccessControlType.Allow));
        security.AddAccessRule(new PipeAccessRule(new SecurityIdentifier(WellKnownSidType.LocalSystemSid, null),
            PipeAccessRights.FullControl, AccessControlType.Allow));
        return security;
    }

    /// <summary>Reads one command line (bounded) and writes the handler's reply; shared by the server and tests.</summary>
    public static async Task Serve(Stream stream, Func<string, string> handler, CancellationToken token)
    {
        var buffer = new byte[MaxCommandLength];
        int length = 0;
        while (length < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(length), token);
            if (n == 0) break;
            length += n;
            if (Array.IndexOf(buffer, (byte)'\n', 0, length) >= 0) break;
        }
        if (length == 0) return;
        string text = Encoding.UTF8.GetString(buffer, 0, length);
        int newline = text.IndexOf('\n');
        string command = (newline >= 0 ? text[..newline] : text).Trim();
        string reply;
        try { reply = handler(command); }
        catch (Exception e) { reply = $"error: {e.Message}"; }
        await stream.WriteAsync(Encoding.UTF8.GetBytes(reply.EndsWith('\n') ? reply : reply + "\n"), token);
        await stream.FlushAsync(token);
    }
}

/// <summary>Serves the control pipe: one pipe instance per connection, connections handled concurrently.</summary>
[SupportedOSPlatform("windows")]
public sealed class NamedPipeControlServer : IDisposable
{
    private readonly string _name;
    private readonly Func<string, string> _handler;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private NamedPipeServerStream _next;

    public NamedPipeControlServer(string address, Func<string, string> handler, ILogger logger)
    {
        _name = NamedPipeControl.PipeName(address);
        _handler = handler;
        _logger = logger;
        try { _next = Create(first: true); }
        catch (UnauthorizedAccessException)
        {
            // FirstPipeInstance: the name is taken, i.e. a daemon already serves this config directory.
            throw new InvalidOperationException($"another daemon is already running with control pipe {_name}");
        }
        _ = Task.Run(AcceptLoop);
    }

    public string PipeName => _name;

    private NamedPipeServerStream Create(bool first) =>
        NamedPipeServerStreamAcl.Create(_name, PipeDirection.InOut, NamedPipeServerStream.MaxAllowedServerInstances,
            PipeTransmissionMode.Byte, PipeOptions.Asynchronous | (first ? PipeOptions.FirstPipeInstance : PipeOptions.None),
            0, 0, NamedPipeControl.Security());

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            NamedPipeServerStream pipe = _next;
            try { await pipe.WaitForConnectionAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { pipe.Dispose(); return; }
            catch (IOException e) { _logger.LogWarning("control pipe: {Message}", e.Message); pipe.Dispose(); _next = Create(first: false); continue; }
            _next = Create(first: false);
            _ = Task.Run(async () =>
            {
                await using (pipe)
                {
                    try
                    {
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                        timeout.CancelAfter(TimeSpan.FromSeconds(5));
                        await NamedPipeControl.Serve(pipe, _handler, timeout.Token);
                        pipe.WaitForPipeDrain();
                    }
                    catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
                    {
                        _logger.LogDebug("control connection ended: {Message}", e.Message);
                    }
                }
            });
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _next.Dispose();
    }
}
