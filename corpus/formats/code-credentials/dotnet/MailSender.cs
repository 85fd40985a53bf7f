using System.Net;
using System.Net.Mail;

namespace Ledger.Notifications
{
    public class MailSender
    {
        private readonly SmtpClient _client = new SmtpClient("smtp.⟦h1:host⟧", 587)
        {
            EnableSsl = true,
            Credentials = new NetworkCredential("ledger-reports", "⟦p1:password!⟧"),
        };

        private static readonly NetworkCredential ShareAccess = new NetworkCredential("svc_share", "⟦p2:password!⟧", "CORP");

        public void Send(MailMessage message) => _client.Send(message);

        public NetworkCredential FromConfig(string user, string password) => new NetworkCredential(user, password);
    }
}
