using System.Globalization;
using System.Text.Json.Nodes;

namespace Multicast.Cli.Bench;

/// <summary>
/// Where the machine's CPU went while a latency run sent, each as % of one core over the sender's run: the sender, the
/// receivers together, the proxy (server + clients; none for native and kernel), and the whole machine (of
/// Cpus × 100 %). Rest is what none of them was charged for: kernel threads, and softirq work that ran outside them.
/// A system's tail latency grows as the machine fills up, so this is the first thing to compare between two rows.
/// </summary>
public readonly record struct CpuBudget(double SenderPercent, double ReceiversPercent, double? ProxyPercent, double MachinePercent, double StealPercent, int Cpus)
{
    /// <summary>Percentages from CPU seconds over the sender's wall time; null without a positive wall time.</summary>
    public static CpuBudget? From(double wallSeconds, double sender, double receivers, double? proxy, double machineBusy, double machineSteal, int cpus)
    {
        if (!(wallSeconds > 0)) return null;
        double P(double seconds) => Math.Round(100 * seconds / wallSeconds, 1);
        return new CpuBudget(P(sender), P(receivers), proxy is double p ? P(p) : null, P(machineBusy), P(machineSteal), cpus);
    }

    /// <summary>The machine's busy time that neither the sender, the receivers nor the proxy was charged for (never below 0).</summary>
    public double RestPercent => Math.Round(Math.Max(0, MachinePercent - SenderPercent - ReceiversPercent - (ProxyPercent ?? 0)), 1);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"machine {MachinePercent,3:0} % of {Cpus * 100} = sender {SenderPercent:0} + receivers {ReceiversPercent:0} + proxy {(ProxyPercent is double p ? p.ToString("0", CultureInfo.InvariantCulture) : "-")} + rest {RestPercent:0}; stolen {StealPercent:0}");

    /// <summary>Adds the figures as flat keys (so bench.csv can take them as columns).</summary>
    public void AddTo(JsonObject o)
    {
        o["machine_busy_percent"] = MachinePercent;
        o["cpus"] = Cpus;
        o["sender_cpu_percent"] = SenderPercent;
        o["receivers_cpu_percent"] = ReceiversPercent;
        o["proxy_cpu_percent"] = ProxyPercent;
        o["rest_cpu_percent"] = RestPercent;
        o["stolen_cpu_percent"] = StealPercent;
    }
}
