# _*_coding:utf-8 _*_
# The tutorial's session app (Tornado + python-memcached), ported to run as a benchmark peer
# of the session demo: `python3 app.py PORT MEMCACHED_HOST:PORT`.
#
# The handlers, the session class (MemcacheToSession.py) and the template are the tutorial's,
# line for line. What changed, and why: the listen port and the memcached address come from
# the command line (the tutorial hard-codes 9999 and 192.168.56.100:11211); Python 2's
# `print` statements are absent.
import sys

import tornado.ioloop
import tornado.web

import MemcacheToSession


class BaseHandler(tornado.web.RequestHandler):
    def initialize(self):
        self.session = MemcacheToSession.Session(self)
        # pass


class MainHandler(BaseHandler):
    def get(self):
        Info = self.session.GetAll()
        self.render("template/index.html", Data=Info)

    def post(self, *args, **kwargs):
        # 获取传过来的值
        Key = self.get_argument('key')
        Val = self.get_argument('val')
        action = self.get_argument('action')
        if action == 'set':
            # 设置值
            self.session[Key] = Val
        elif action == 'del':
            del self.session[Key]
        # 获取所有信息
        Info = self.session.GetAll()
        # 返回给前端渲染
        self.render("template/index.html", Data=Info)


settings = {
    "tempalte_path": "template",
    "cookie_secret": "508CE6152CB93994628D3E99934B83CC",
}

application = tornado.web.Application([
    (r'/', MainHandler),
], **settings)

if __name__ == "__main__":
    MemcacheToSession.connect(sys.argv[2])
    application.listen(int(sys.argv[1]), address="127.0.0.1")
    tornado.ioloop.IOLoop.instance().start()
