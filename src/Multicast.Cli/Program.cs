using Multicast.Cli.Admin;
using Multicast.Core.Config;

namespace Multicast.Cli;

/// <summary>
/// One executable, many tools: the launchers in out/bin pass "--as NAME"; `multicast NAME ...` works too.
/// Every failure reaches the user as one line on stderr and a non-zero exit, never a stack trace.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string tool = "multicast";
        // The launchers say "--as NAME"; `multicast NAME ...` and `multicast --as NAME ...` say the same by hand.
        while (tool == "multicast" && args.Length > 0)
        {
            if (args.Length >= 2 && args[0] == "--as") { tool = args[1]; args = args[2..]; }
            else if (!args[0].StartsWith('-')) { tool = args[0]; args = args[1..]; }
            else break;
        }
        try
        {
            return tool switch
            {
                "multis_admin" => ServerAdmin.Run(args),
                "multic_admin" => ClientAdmin.Run(args),
                "server_reload_list" => ReloadList.Run("multis", args),
                "client_reload_list" => ReloadList.Run("multic", args),
                "demo" => Demo.DemoCommand.Run(args),
                // The Windows service entry (sc create udptopoint binPath= "...\multicast.exe udptopoint"); from a
                // console it is the server in the foreground, like multis_admin -R.
                "udptopoint" => Multicast.Windows.UdptopointService.Run(ConfigFile.Directory,
                    stop => Daemon.ServerDaemon.Run(Daemon.DaemonOptions.Parse(args), stop)),
                "tool" => Tools.TrafficTool.Run(args),
                "bench" => Bench.BenchCommand.Run(args),
                "multicast" when args.Length == 0 || args[0] is "-H" or "--help" or "-h" => Usage(),
                "multicast" => throw new UsageException($"unknown option '{args[0]}'"),
                _ => throw new UsageException($"unknown command '{tool}'"),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            string helpTool = tool is "multis_admin" or "multic_admin" or "server_reload_list" or "client_reload_list" ? tool : "multicast";
            Console.Out.WriteLine($"Try '{helpTool} --help' for more information.");
            return 2;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException or InvalidOperationException
                                       or PlatformNotSupportedException or ArgumentException or System.Net.Sockets.SocketException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static int Usage()
    {
        Console.Out.WriteLine("""
            multicast -- multicast proxy for networks without multicast
            Usage:
            multicast demo                 build a throwaway namespace VPC and stream through the proxy (root)
            multicast multis_admin ARGS    server tool (same as the multis_admin launcher)
            multicast multic_admin ARGS    client tool (same as the multic_admin launcher)
            multicast tool send|recv ARGS  ordinary multicast sender / receiver for tests
            """);
        return 0;
    }
}

/// <summary>Wrong flags or arguments: printed as one line plus the "Try --help" hint.</summary>
public sealed class UsageException(string message) : Exception(message);
