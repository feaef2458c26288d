/* The benchmark's webhook receiver (bench/run.py --webhooks): answers 204 to every HTTP/1.1 request on
 * kept-alive connections, and nothing else. It stands for a shop's system on another machine, so it is
 * written to take as little as it can of the cores the server is measured on: one thread, epoll, no
 * parsing beyond finding where each request ends (the header block, then Content-Length bytes).
 *
 * Usage: receiver. It listens on 127.0.0.1 (a free port), prints the port on stdout, and on SIGTERM
 * prints how many requests it answered and exits. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNECTIONS 1024
#define BUFFER (256 * 1024) /* one connection's unanswered bytes; a longer request closes it */

struct connection {
  char *data;
  size_t used;
};

static volatile sig_atomic_t stopping = 0;
static struct connection connections[MAX_CONNECTIONS];

static void on_term(int signal_number) {
  (void)signal_number;
  stopping = 1;
}

/* Where the request at the start of data ends, or 0 when it is not all here yet. */
static size_t request_end(const char *data, size_t used) {
  const char *head_end = memmem(data, used, "\r\n\r\n", 4);
  if (head_end == NULL) return 0;
  size_t head = (size_t)(head_end - data) + 4;
  size_t body = 0;
  const char *line = data;
  while (line < head_end) {
    if (strncasecmp(line, "content-length:", 15) == 0) body = strtoul(line + 15, NULL, 10);
    const char *next = memchr(line, '\n', (size_t)(head_end - line));
    if (next == NULL) break;
    line = next + 1;
  }
  return used >= head + body ? head + body : 0;
}

static void drop(int epoll, int fd) {
  epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  free(connections[fd].data);
  connections[fd].data = NULL;
  connections[fd].used = 0;
}

/* Reads what came, answers each whole request; returns how many it answered. */
static long serve(int epoll, int fd) {
  static const char answer[] = "HTTP/1.1 204 No Content\r\n\r\n";
  struct connection *c = &connections[fd];
  ssize_t got = recv(fd, c->data + c->used, BUFFER - c->used, 0);
  if (got <= 0) {
    if (got < 0 && errno == EAGAIN) return 0;
    drop(epoll, fd);
    return 0;
  }
  c->used += (size_t)got;
  long answered = 0;
  size_t end;
  while ((end = request_end(c->data, c->used)) > 0) {
    if (send(fd, answer, sizeof answer - 1, MSG_NOSIGNAL) < 0) {
      drop(epoll, fd);
      return answered;
    }
    memmove(c->data, c->data + end, c->used - end);
    c->used -= end;
    ++answered;
  }
  if (c->used == BUFFER) drop(epoll, fd);
  return answered;
}

int main(void) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof address;
  if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 128) < 0 ||
      getsockname(listener, (struct sockaddr *)&address, &length) < 0) {
    perror("receiver");
    return 1;
  }
  struct sigaction term = {.sa_handler = on_term};
  sigaction(SIGTERM, &term, NULL);
  printf("%d\n", ntohs(address.sin_port));
  fflush(stdout);
  int epoll = epoll_create1(0);
  struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
  long answered = 0;
  while (!stopping) {
    struct epoll_event ready[64];
    int count = epoll_wait(epoll, ready, 64, -1);
    for (int i = 0; i < count; ++i) {
      int fd = ready[i].data.fd;
      if (fd != listener) {
        answered += serve(epoll, fd);
        continue;
      }
      int client = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
      if (client < 0) continue;
      if (client >= MAX_CONNECTIONS || (connections[client].data = malloc(BUFFER)) == NULL) {
        close(client);
        continue;
      }
      struct epoll_event in = {.events = EPOLLIN, .data.fd = client};
      epoll_ctl(epoll, EPOLL_CTL_ADD, client, &in);
    }
  }
  printf("%ld\n", answered);
  return 0;
}
