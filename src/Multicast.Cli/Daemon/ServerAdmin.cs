namespace Multicast.Cli.Daemon;

/// <summary>`multis_admin`: runs the server (-R) or configures it.</summary>
public static class ServerAdmin
{
    public const string UsageText = """
        multis_admin -- This command can be used to configure multicast server.
        Usage:
        multis_admin -A -m {multi_ip} -j {ip1,ip2,ip3...} -p port
        multis_admin -A -m {multi_ip} -q {ip1,ip2,ip3...}
        multis_admin -D -m {multi_ip}
        multis_admin -C
        multis_admin -P -m {multi_ip}
        multis_admin -L -m {multi_ip}
        multis_admin -S
        multis_admin -H
        multis_admin -R [--interface IF] [--engine ring|socket]
        Options:
        -A/--add add multicast group
        -D/--delete del multicast group
        -C/--clear clear multicast group
        -P/--stats packets statistic
        -S/--show show multicast group
        -L/--list list multicast group member
        -R/--run run the multicast server to transmit packages
        -H/--help help info
        -j/--join vm join multicast group
        -q/--quit vm quit multicast group
        -m/--multiip multicast ip
        -p/--port server port
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-H" or "--help" or "-help") { Console.Out.WriteLine(UsageText); return 0; }
        if (args.Contains("-R") || args.Contains("--run")) return ServerDaemon.Run(DaemonOptions.Parse(args));
        throw new UsageException($"option {args[0]} is not supported yet by this build (only -R and -H)");
    }
}

/// <summary>`multic_admin`: runs the client (-R) or configures it.</summary>
public static class ClientAdmin
{
    public const string UsageText = """
        multic_admin -- This command can be used to configure multicast client.
        Usage:
        multic_admin -A -i {ip} -p {port} -m {multi_ip}
        multic_admin -A -i {ip} -g {groupport} -s {serverport} -m {multi_ip}
        multic_admin -D -i {ip} -p {port}
        multic_admin -D -i {ip} -g {groupport}
        multic_admin -C
        multic_admin -P -i {ip} -p {port}
        multic_admin -L
        multic_admin -H
        multic_admin -R [--interface IF] [--engine ring|socket]
        Options:
        -A/--add add multicast server ip and port
        -D/--delete del multicast server ip and port
        -C/--clear clear multicast server information
        -P/--stats recv packets statistic
        -L/--list list all multicast server ip and port
        -R/--run run the multicast client
        -H/--help help info
        -i/--ip multicast server ip, the ip of multicast provider
        -p/--port udp port, the multicast port
        -g/--gport udp port, the multicast port
        -s/--sport server port
        -m/--multi_ip multicast ip
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-H" or "--help" or "-help") { Console.Out.WriteLine(UsageText); return 0; }
        if (args.Contains("-R") || args.Contains("--run")) return ClientDaemon.Run(DaemonOptions.Parse(args));
        throw new UsageException($"option {args[0]} is not supported yet by this build (only -R and -H)");
    }
}
