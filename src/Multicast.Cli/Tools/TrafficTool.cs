namespace Multicast.Cli.Tools;

/// <summary>`multicast tool send|recv|rawsend`: stand-ins for the user's application, used by the demo and the tests.</summary>
public static class TrafficTool
{
    /// <summary>Each tool's usage and entry point, for its --help and its run alike.</summary>
    private static (string Usage, Func<string[], int> Run)? Find(string name) => name switch
    {
        "send" => (SendTool.Usage, SendTool.Run),
        "recv" => (RecvTool.Usage, RecvTool.Run),
        "rawsend" => (RawSendTool.Usage, RawSendTool.Run),
        _ => null,
    };

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine("multicast tool -- ordinary multicast test applications\n" +
                SendTool.Usage + "\n" + RecvTool.Usage + "\n" + RawSendTool.Usage);
            return 0;
        }
        (string usage, Func<string[], int> run) = Find(args[0]) ?? throw new UsageException($"unknown tool '{args[0]}' (send, recv, rawsend)");
        string[] rest = args[1..];
        if (rest is ["-h" or "--help"])
        {
            Console.Out.WriteLine(usage);
            return 0;
        }
        try
        {
            return run(rest);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
        {
            // The user's environment, not a crash: a bind or join that fails (address not local, no route) or a log
            // file that cannot be written (--latency-log, --lateness-log). One line.
            Console.Error.WriteLine($"error: tool {args[0]}: {e.Message}");
            return 1;
        }
    }
}
