using System.Runtime.Versioning;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.WindowsServices;

namespace Multicast.Windows;

/// <summary>
/// Runs the server as the Windows service `udptopoint` (the name the original's manual and scripts use). The server
/// itself is the same code as `multis_admin -R`; the service only maps SCM start/stop onto it and keeps the
/// original's status file (C:\udptopoint\udptopoint_status.txt: "udptopoint started." / "udptopoint stopped.").
/// Started from a console instead, it runs in the foreground (Ctrl+C stops it).
/// </summary>
public static class UdptopointService
{
    public const string ServiceName = "udptopoint";

    /// <param name="server">The server main loop: returns its exit code when the token is cancelled or it fails.</param>
    public static int Run(string configDirectory, Func<CancellationToken, int> server)
    {
        if (!OperatingSystem.IsWindows() || !WindowsServiceHelpers.IsWindowsService()) return server(CancellationToken.None);
        return RunService(configDirectory, server);
    }

    [SupportedOSPlatform("windows")]
    private static int RunService(string configDirectory, Func<CancellationToken, int> server)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Services.AddWindowsService(o => o.ServiceName = ServiceName);
        var service = new ServerService(configDirectory, server);
        builder.Services.AddHostedService(_ => service);
        using IHost host = builder.Build();
        host.Run();
        return service.ExitCode;
    }

    internal sealed class ServerService(string configDirectory, Func<CancellationToken, int> server) : BackgroundService
    {
        public int ExitCode { get; private set; }

        protected override Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var done = new TaskCompletionSource();
            // The data plane owns a thread for its whole life: not a pool thread.
            var thread = new Thread(() =>
            {
                Status("udptopoint started.");
                try { ExitCode = server(stoppingToken); }
                catch (Exception e) { ExitCode = 1; Status($"udptopoint failed: {e.Message}"); }
                finally
                {
                    Status("udptopoint stopped.");
                    done.TrySetResult();
                }
                // A server that ends on its own (bad interface, no Npcap) must stop the service, with a failure code
                // so the SCM's recovery actions apply.
                if (!stoppingToken.IsCancellationRequested) Environment.Exit(ExitCode == 0 ? 1 : ExitCode);
            }) { Name = "udptopoint", IsBackground = true };
            thread.Start();
            return done.Task;
        }

        private void Status(string line)
        {
            try
            {
                Directory.CreateDirectory(configDirectory);
                File.AppendAllText(Path.Combine(configDirectory, "udptopoint_status.txt"), line + Environment.NewLine);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
