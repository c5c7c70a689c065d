using System.Runtime.InteropServices;
using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Multicast.Cli.Control;
using Multicast.Core.Config;
using Multicast.Linux;
using LoggerConfiguration = Serilog.LoggerConfiguration;
using Serilog;

namespace Multicast.Cli.Daemon;

/// <summary>
/// What both daemons share: logging (appended, size-rotated file in the config directory; console in a terminal;
/// systemd-style console under systemd, which the journal reads), the control socket, the pid file (written once the
/// data plane is open: it doubles as readiness; under systemd, `Type=notify`, READY=1 is sent at the same moment, so
/// `service multis start` fails when the daemon does), signals (SIGINT/SIGTERM stop, SIGHUP reloads), and the stats
/// file rewritten every second and at exit.
/// </summary>
public sealed class DaemonRuntime : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly List<PosixSignalRegistration> _signals = new();
    private readonly string _pidFile;
    private readonly StatsFile _statsFile;
    private readonly Action<Utf8JsonWriter> _writeStats;
    private Timer? _statsTimer;
    private readonly object _statsLock = new();
    private readonly string _role;
    private IDisposable? _control;
    private bool _ready;
    private string? _watchedInterface;
    private int _watchedIndex;
    private volatile string? _failure;
    private Serilog.Core.Logger _file = null!;
    // Talks to systemd only when it set NOTIFY_SOCKET (a Type=notify unit); otherwise every call does nothing.
    private readonly SystemdNotifier _systemd = new();

    public ILoggerFactory LoggerFactory { get; }
    public Microsoft.Extensions.Logging.ILogger Logger { get; }
    public CancellationToken Stopping => _stop.Token;
    public string ConfigDirectory { get; }

    /// <param name="writeStats">Writes the daemon's own properties of its stats document; the process section follows.</param>
    /// <param name="stopping">Stops the daemon from outside (the Windows service host), besides the signals.</param>
    public DaemonRuntime(string role, Action<Utf8JsonWriter> writeStats, CancellationToken stopping = default)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        ConfigDirectory = ConfigFile.Directory;
        _pidFile = Path.Combine(ConfigDirectory, $"{role}.pid");
        _statsFile = new StatsFile(Path.Combine(ConfigDirectory, role == "multis" ? "server_stats.json" : "client_stats.json"));
        _writeStats = w =>
        {
            w.WriteStartObject();
            writeStats(w);
            WriteProcessStats(w);
            w.WriteEndObject();
        };
        _role = role;
        Directory.CreateDirectory(ConfigDirectory);
        LoggerFactory = CreateLogging(Path.Combine(ConfigDirectory, role == "multis" ? "server_log.txt" : "client_log.txt"));
        Logger = LoggerFactory.CreateLogger(role);
    }

    private ILoggerFactory CreateLogging(string logFile)
    {
        Serilog.Core.Logger file = _file = new LoggerConfiguration()
            .MinimumLevel.Information()
            .WriteTo.File(logFile,
                outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}",
                fileSizeLimitBytes: 10 * 1024 * 1024, rollOnFileSizeLimit: true, retainedFileCountLimit: 5,
                flushToDiskInterval: TimeSpan.FromSeconds(1))
            .CreateLogger();
        bool underSystemd = Environment.GetEnvironmentVariable("INVOCATION_ID") is { Length: > 0 };
        return Microsoft.Extensions.Logging.LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(LogLevel.Information);
            b.AddSerilog(file, dispose: true);
            if (underSystemd) b.AddSystemdConsole(o => o.UseUtcTimestamp = false);
            else b.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            });
        });
    }

    /// <summary>
    /// Runs a daemon's body. An exception that ends it is also written to the log file, where users of the original
    /// look, then passed on: the console and the journal get it as the tools' one-line error.
    /// </summary>
    public int LogFailures(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            _file.ForContext("SourceContext", _role).Error(_ready ? "stopped on error: {Message}" : "could not start: {Message}", e.Message);
            throw;
        }
    }

    /// <summary>Opens the control socket; refuses to start when another daemon already serves this directory.</summary>
    public void StartControl(Func<string, string> handler)
    {
        string path = Path.Combine(ConfigDirectory, _role == "multis" ? ControlClient.ServerSocket : ControlClient.ClientSocket);
        _control = ControlChannel.Listen(path, handler, Logger);
    }

    public void OnSignals(Func<string> reload)
    {
        void Stop(PosixSignalContext c)
        {
            c.Cancel = true;
            Logger.LogInformation("signal {Signal}: stopping", c.Signal.ToString());
            _systemd.Notify(ServiceState.Stopping);
            _stop.Cancel();
        }
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop));
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop));
        // On Windows SIGHUP means the console window closing, not "reload": reload goes through the control pipe.
        if (OperatingSystem.IsWindows()) return;
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
        _ready = true;
        File.WriteAllText(_pidFile, $"{Environment.ProcessId}\n");
        WriteStats();
        _statsTimer = new Timer(_ =>
        {
            WriteStats();
            CheckInterface();
        }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        _systemd.Notify(ServiceState.Ready);
    }

    public void WriteStats()
    {
        lock (_statsLock)
        {
            try
            {
                _statsFile.Write(_writeStats);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Logger.LogWarning("cannot write the stats file: {Message}", e.Message);
            }
        }
    }

    /// <summary>
    /// Stops the daemon with an error once <paramref name="iface"/> is gone or replaced (deleted, or made again under a
    /// new index, as a detached and re-attached cloud NIC is): the data plane's sockets are bound to the old index and
    /// would wait forever, forwarding nothing. Exiting lets the service manager restart it (the units say
    /// Restart=on-failure). A link that only goes down keeps its index, and the data plane carries on when it is back.
    /// </summary>
    public void WatchInterface(string iface)
    {
        if (!OperatingSystem.IsLinux()) return;
        _watchedIndex = InterfaceLookup.IndexOf(iface);
        _watchedInterface = iface;
    }

    private void CheckInterface()
    {
        if (_watchedInterface is not string iface || _failure is not null) return;
        int index = InterfaceLookup.IndexOf(iface);
        if (index == _watchedIndex) return;
        _failure = index == 0
            ? $"interface {iface} is gone; start the daemon again once it is back"
            : $"interface {iface} was replaced (index {_watchedIndex}, now {index}); start the daemon again to serve the new one";
        _stop.Cancel();
    }

    /// <summary>
    /// What the proxy costs the host: CPU time and garbage collections. A hot path that allocates shows up here as
    /// rising gen0 counts under traffic (the stats writer itself allocates a little once a second).
    /// </summary>
    private static void WriteProcessStats(Utf8JsonWriter w)
    {
        w.WriteStartObject("process"u8);
        // getrusage: one system call, where Process.TotalProcessorTime opens and parses /proc/self/stat.
        w.WriteNumber("cpu_seconds"u8, Math.Round(Environment.CpuUsage.TotalTime.TotalSeconds, 3));
        w.WriteNumber("gc_gen0"u8, GC.CollectionCount(0));
        w.WriteNumber("gc_gen1"u8, GC.CollectionCount(1));
        w.WriteNumber("gc_gen2"u8, GC.CollectionCount(2));
        w.WriteNumber("allocated_bytes"u8, GC.GetTotalAllocatedBytes());
        w.WriteEndObject();
    }

    /// <summary>The properties <paramref name="writeProperties"/> writes, as one compact JSON object (a control-socket reply).</summary>
    public static string JsonObjectText(Action<Utf8JsonWriter> writeProperties)
    {
        var text = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(text))
        {
            w.WriteStartObject();
            writeProperties(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(text.WrittenSpan);
    }

    /// <summary>
    /// Wires reload (SIGHUP and the control socket's `reload`, serialised), the control commands, readiness and the
    /// data-plane thread's priority, then runs the data plane until stopped.
    /// </summary>
    /// <param name="apply">Re-reads the config and applies it; returns what was loaded, for the log. Throws
    /// ConfigException or InvalidOperationException to refuse the change and keep the running config.</param>
    /// <param name="options">The data-plane thread's nice value (<see cref="DaemonOptions.StartingNice"/>, see
    /// ThreadScheduling) and CPUs (<see cref="DaemonOptions.Cpus"/>, checked by <see cref="DaemonOptions.CheckHost"/>),
    /// applied to the calling thread right before the data plane runs, so that no thread the daemon starts inherits them.</param>
    public void Serve(Func<string> apply, Func<string> list, Func<string> stats, Action<CancellationToken> run, DaemonOptions options)
    {
        int dataPlaneNice = options.StartingNice;
        DataPlaneCpus? dataPlaneCpus = options.Cpus;
        var reloadLock = new object();
        string Reload()
        {
            lock (reloadLock)
            {
                try
                {
                    Logger.LogInformation("reloaded {What}", apply());
                    return "ok";
                }
                catch (Exception e) when (e is ConfigException or InvalidOperationException)
                {
                    Logger.LogError("reload refused, keeping the running config: {Message}", e.Message);
                    return $"error: {e.Message}";
                }
            }
        }
        OnSignals(Reload);
        StartControl(command => command switch
        {
            "reload" => Reload(),
            "list" => list(),
            "stats" => stats(),
            _ => "parameter error!",
        });
        Ready();
        if (OperatingSystem.IsLinux() && ThreadScheduling.SetCurrentThreadNice(dataPlaneNice) is int errno and not 0)
            Logger.LogWarning("cannot set the data-plane thread's nice value to {Nice} (errno {Errno}); it competes with other work at the daemon's own",
                dataPlaneNice, errno);
        if (dataPlaneCpus is not null)
        {
            if (dataPlaneCpus.ApplyToCurrentThread() is int error and not 0)
                Logger.LogWarning("cannot pin the data-plane thread to CPU {Cpus} (errno {Errno}); it runs where the scheduler puts it", dataPlaneCpus, error);
            else
                Logger.LogInformation("data-plane thread pinned to CPU {Cpus}", dataPlaneCpus);
        }
        run(Stopping);
        if (_failure is string failure) throw new InvalidOperationException(failure);
        Logger.LogInformation("{Role} stopped", _role);
    }

    public void Dispose()
    {
        _statsTimer?.Dispose();
        _control?.Dispose();
        foreach (PosixSignalRegistration s in _signals) s.Dispose();
        // A daemon that never became ready (e.g. refused because another one serves this directory) does not own
        // the pid and stats files: touching them would hide the running daemon.
        if (_ready)
        {
            WriteStats();
            _statsFile.RemoveTwin();
            try { File.Delete(_pidFile); } catch (IOException) { }
        }
        LoggerFactory.Dispose();
    }
}
