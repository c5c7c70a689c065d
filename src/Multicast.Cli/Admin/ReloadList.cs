using Multicast.Cli.Control;
using Multicast.Core.Config;

namespace Multicast.Cli.Admin;

/// <summary>
/// `server_reload_list` / `client_reload_list`: the manual's interactive prompt (`reload` re-reads the config file
/// into the running daemon, `list` prints its counters), or one command given as an argument for scripts.
/// </summary>
public static class ReloadList
{
    public const string Prompt = "please input command[reload or list]#";

    public static int Run(string role, string[] args)
    {
        string socket = Path.Combine(ConfigFile.Directory, role == "multis" ? ControlClient.ServerSocket : ControlClient.ClientSocket);
        if (args is ["-H" or "--help" or "-h"])
        {
            Console.Out.WriteLine($"usage: {(role == "multis" ? "server" : "client")}_reload_list [reload|list]   (no argument: interactive prompt)");
            return 0;
        }
        if (args.Length > 1) throw new UsageException("give at most one command: reload or list");
        if (args.Length == 1) return Execute(args[0], socket, role);
        int status = 0;
        while (true)
        {
            Console.Out.Write(Prompt);
            Console.Out.Flush();
            string? line = Console.In.ReadLine();
            if (line is null) { Console.Out.WriteLine(); return status; }
            string word = line.Trim();
            if (word.Length == 0) continue;
            if (word is "quit" or "exit") return status;
            status = Execute(word, socket, role);
        }
    }

    private static int Execute(string command, string socket, string role)
    {
        if (command is not ("reload" or "list"))
        {
            Console.Error.WriteLine($"error: unknown command '{command}' (expected reload or list)");
            return 2;
        }
        string? reply = ControlClient.TrySend(socket, command);
        if (reply is null)
        {
            Console.Error.WriteLine($"error: {role} is not running (no control socket at {socket})");
            return 1;
        }
        Console.Out.WriteLine($"send {command}[yes]");
        if (reply.StartsWith("error:"))
        {
            Console.Error.WriteLine(reply.Trim());
            return 1;
        }
        if (command == "list") Console.Out.Write(reply);
        return 0;
    }
}
