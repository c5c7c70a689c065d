using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Multicast.Core.Config;

namespace Multicast.Cli.Daemon;

/// <summary>
/// What both daemons share: logging, the pid file (written once the data plane is open: it doubles as readiness),
/// signals (SIGINT/SIGTERM stop, SIGHUP reloads), and the stats file rewritten every second and at exit.
/// </summary>
public sealed class DaemonRuntime : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<PosixSignalRegistration> _signals = new();
    private readonly string _pidFile;
    private readonly string _statsFile;
    private readonly Func<JsonObject> _stats;
    private Timer? _statsTimer;
    private readonly object _statsLock = new();

    public ILoggerFactory LoggerFactory { get; }
    public ILogger Logger { get; }
    public CancellationToken Stopping => _stop.Token;
    public string ConfigDirectory { get; }

    public DaemonRuntime(string role, Func<JsonObject> stats)
    {
        ConfigDirectory = ConfigFile.Directory;
        _pidFile = Path.Combine(ConfigDirectory, $"{role}.pid");
        _statsFile = Path.Combine(ConfigDirectory, role == "multis" ? "server_stats.json" : "client_stats.json");
        _stats = stats;
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b
            .SetMinimumLevel(LogLevel.Information)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
                o.UseUtcTimestamp = false;
            }));
        Logger = LoggerFactory.CreateLogger(role);
    }

    public void OnSignals(Action reload)
    {
        void Stop(PosixSignalContext c) { c.Cancel = true; Logger.LogInformation("signal {Signal}: stopping", c.Signal); _stop.Cancel(); }
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop));
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop));
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
        {
            c.Cancel = true;
            // Reload off the signal thread: it reads files and may run nft.
            ThreadPool.QueueUserWorkItem(_ => reload());
        }));
    }

    /// <summary>Marks the daemon ready: pid file and periodic stats.</summary>
    public void Ready()
    {
        Directory.CreateDirectory(ConfigDirectory);
        File.WriteAllText(_pidFile, $"{Environment.ProcessId}\n");
        WriteStats();
        _statsTimer = new Timer(_ => WriteStats(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public void WriteStats()
    {
        lock (_statsLock)
        {
            try { ConfigFile.SaveAtomically(_statsFile, _stats()); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Logger.LogWarning("cannot write {File}: {Message}", _statsFile, e.Message);
            }
        }
    }

    public void Dispose()
    {
        _statsTimer?.Dispose();
        foreach (PosixSignalRegistration s in _signals) s.Dispose();
        WriteStats();
        try { File.Delete(_pidFile); } catch (IOException) { }
        LoggerFactory.Dispose();
    }
}
