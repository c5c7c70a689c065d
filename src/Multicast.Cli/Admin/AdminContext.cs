using System.Text.Json.Nodes;
using Multicast.Cli.Control;
using Multicast.Core.Config;

namespace Multicast.Cli.Admin;

/// <summary>Where a tool's files live and how a saved change reaches the running daemon.</summary>
public sealed class AdminContext(string role)
{
    public string Directory { get; } = ConfigFile.Directory;
    public string Role { get; } = role;
    public string ConfigPath => Path.Combine(Directory, Role == "multis" ? ServerConfig.FileName : ClientConfig.FileName);
    public string SocketPath => Path.Combine(Directory, Role == "multis" ? ControlClient.ServerSocket : ControlClient.ClientSocket);

    /// <summary>
    /// After a change is saved: tell the daemon to reload and wait for it to apply; when none runs, say so (the file
    /// is the state, so the change applies at the next start).
    /// </summary>
    public int ApplySaved()
    {
        string? reply = ControlClient.TrySend(SocketPath, "reload");
        if (reply is null)
        {
            Console.Out.WriteLine($"{Role} is not running: the change is saved in {ConfigPath} and applies at the next start");
            return 0;
        }
        if (reply.StartsWith("ok")) return 0;
        Console.Error.WriteLine($"error: saved in {ConfigPath}, but the running {Role} refused it: {reply.Trim()}");
        return 1;
    }

    /// <summary>The daemon's counters as JSON; a clear error when no daemon runs.</summary>
    public JsonObject Stats()
    {
        string reply = ControlClient.TrySend(SocketPath, "stats")
                       ?? throw new InvalidOperationException($"{Role} is not running (no control socket at {SocketPath}); start it with {(OperatingSystem.IsLinux() ? $"`service {Role} start` or " : "")}{(Role == "multis" ? "multis_admin" : "multic_admin")} -R");
        if (reply.StartsWith("error:")) throw new InvalidOperationException(reply.Trim()["error: ".Length..]);
        return JsonNode.Parse(reply)!.AsObject();
    }
}
